"""Model artifacts: the trained files behind `sklearn` versions, checked, stored once, cached on each host.

The registry attaches them to versions and serves their routes; routing loads them. This package
imports neither, so both can use it.
"""
