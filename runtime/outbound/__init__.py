"""The outbound guard: every request a flow or a plugin makes goes through it.

`addresses` decides where a request may go (public addresses, and the private ones an
administrator allowed); `guard` is the HTTP client that resolves once, checks, connects to the
address it checked, follows and re-checks redirects, and caps the answer's size and time;
`metered` counts every byte its connections read against that cap; `lookup` runs its name
lookups on threads of their own.
"""
