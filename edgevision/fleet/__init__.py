"""``edgevision fleet``: bench and run one bundle on many devices over SSH, one report across them.

- ``hosts``: the devices (``user@host[:port]``, or a hosts file with name=, python=, workdir=, identity=)
- ``ssh``: commands over the OpenSSH client, host keys always checked against known_hosts
- ``digest``: a bundle's content digest (also run on the device: ``python -m edgevision.fleet.digest DIR``)
- ``deploy``: copy a bundle to a device unless the same bundle (same digest) is there already
- ``bench``: ``edgevision bench --json`` on every device in parallel, per-device timeouts, a failing
  device a row with its error; ``report``: that report (``FleetReport``) as text, JSON and HTML
- ``start``: ``edgevision run --publish`` started in the background on every device

Importing this package loads nothing heavy: the device side runs ``edgevision.fleet.digest`` with
only the standard library.

Example:
    >>> from edgevision.fleet.hosts import parse_host
    >>> [parse_host(h).name for h in ("pi@pi1", "pi@pi2:2222 name=yard")]
    ['pi@pi1', 'yard']
"""
