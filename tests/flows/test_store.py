"""Flows in the database: drafts that change, published versions that never do."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from flows.document import dump_flow, flow_from_data
from flows.problems import FlowInvalid
from flows.store import FlowNotFound, FlowStore
from tests.runtime.testnodes import chain, registry

DOC = chain("lead", ("s", "test.start", {}), ("q", "test.ask", {"prompt": "Email?"}), ("e", "test.end", {}))


def test_drafts_save_and_reload_exactly(engine: Engine) -> None:
    store = FlowStore(engine)
    flow = flow_from_data(DOC)
    store.save_draft(flow)
    assert dump_flow(store.draft("lead")) == dump_flow(flow)
    renamed = flow.model_copy(update={"name": "Leads 2"})
    store.save_draft(renamed)
    assert store.draft("lead").name == "Leads 2"
    assert [f.id for f in store.list()] == ["lead"]


def test_published_versions_are_immutable_snapshots(engine: Engine) -> None:
    store = FlowStore(engine)
    store.save_draft(flow_from_data(DOC))
    assert store.publish("lead", registry(), note="first") == 1
    changed = flow_from_data({**DOC, "name": "Changed"})
    store.save_draft(changed)
    assert store.version("lead", 1).flow.name == "Lead"
    assert store.version("lead").version == 1
    assert store.publish("lead", registry()) == 2
    assert store.version("lead").flow.name == "Changed"
    assert [(v.version, v.note) for v in store.versions("lead")] == [(2, ""), (1, "first")]
    assert store.list()[0].latest_version == 2


def test_a_flow_with_errors_is_not_published_and_nothing_is_saved(engine: Engine) -> None:
    store = FlowStore(engine)
    broken = {**DOC, "edges": [*DOC["edges"], {"id": "bad", "source": "q", "target": "void"}]}
    store.save_draft(flow_from_data(broken))
    with pytest.raises(FlowInvalid) as err:
        store.publish("lead", registry())
    assert any(p.edge_id == "bad" for p in err.value.problems)
    assert store.versions("lead") == []


def test_missing_flows_and_versions_are_said_plainly(engine: Engine) -> None:
    store = FlowStore(engine)
    with pytest.raises(FlowNotFound, match="no flow 'nope'"):
        store.draft("nope")
    store.save_draft(flow_from_data(DOC))
    with pytest.raises(FlowNotFound, match="no version 7"):
        store.version("lead", 7)
    with pytest.raises(FlowNotFound, match="no published version"):
        store.version("lead")
    store.delete("lead")
    assert store.list() == []


STARTUP = """
import sys, time
from cryptography.fernet import Fernet
from flows.db import make_engine
from runtime.channels.secretbox import SecretBox
from runtime.channels.store import ChannelStore
from runtime.store import ConversationStore
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
engine = make_engine(sys.argv[1])
ConversationStore(engine)
ChannelStore(engine, SecretBox(Fernet.generate_key()))
print("ready")
"""


def test_processes_started_together_on_a_new_database_all_start(db_url: str) -> None:
    """Two webhooks and three workers started at the same moment on an empty database each find
    tables missing; they take turns creating them (otherwise two both try to create the same
    table and one fails to start)."""
    import subprocess
    import sys
    import time
    import uuid

    from sqlalchemy import create_engine

    admin = create_engine(db_url)
    schema = f"startup_{uuid.uuid4().hex[:12]}"
    if admin.dialect.name == "postgresql":  # an empty schema of its own: the database's others hold tables
        with admin.begin() as c:
            c.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        db_url = db_url.split("?", maxsplit=1)[0] + f"?options=-csearch_path%3D{schema}"
    at = str(time.time() + 4.0)  # after every interpreter has imported what it needs
    runs = [
        subprocess.Popen([sys.executable, "-c", STARTUP, db_url, at], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(5)
    ]
    try:
        results = [run.communicate(timeout=120) for run in runs]
        failures = [err.decode()[-600:] for run, (_, err) in zip(runs, results, strict=True) if run.returncode]
        assert failures == []
        assert [out.decode().strip() for out, _ in results] == ["ready"] * 5
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
        if admin.dialect.name == "postgresql":
            with admin.begin() as c:
                c.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def test_a_transaction_after_an_autocommit_read_on_the_same_connection_is_still_one_transaction(
    engine: Engine,
) -> None:
    """The hot reads run in autocommit on PostgreSQL (flows.db.autocommit) on the same pool as the
    transactions: a connection handed back from a read must not carry autocommit into the next
    transaction, or a turn that fails half way would leave half of itself saved."""
    from sqlalchemy import text

    from flows.db import autocommit

    quick = autocommit(engine)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE half_done (n INTEGER)"))
    try:
        for _ in range(3):  # the same pooled connection, read in autocommit, then a transaction that fails
            with quick.connect() as c:
                assert c.execute(text("SELECT 1")).scalar() == 1
            with pytest.raises(RuntimeError), engine.begin() as c:
                c.execute(text("INSERT INTO half_done VALUES (1)"))
                c.execute(text("INSERT INTO half_done VALUES (2)"))
                raise RuntimeError("the turn failed half way")
        with engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM half_done")).scalar() == 0
    finally:
        with engine.begin() as c:
            c.execute(text("DROP TABLE half_done"))
