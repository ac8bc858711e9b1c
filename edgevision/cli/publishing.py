"""``edgevision run``'s results-out flags: ``--publish mqtt://...`` and its QoS, TLS, credential and queue options.

Example:
    $ edgevision run bundle/ --source csi://0 --publish mqtt://cam@broker.lan/edgevision/{hostname} \\
          --mqtt-qos 1 --mqtt-password-env MQTT_PASSWORD --publish-on-change
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .options import _positive_int


def add_publish_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("results out (MQTT)")
    g.add_argument("--publish", metavar="URL",
                   help="each frame's JSON record to MQTT: mqtt://[user@]host[:port]/topic (mqtts:// for TLS); "
                        "{hostname} in the topic becomes this machine's name")
    g.add_argument("--publish-on-change", action="store_true",
                   help="publish a record only when what it shows changes (top class, counts per label, tracks)")
    g.add_argument("--mqtt-qos", type=int, choices=(0, 1), default=0, help="MQTT quality of service (default 0)")
    g.add_argument("--mqtt-queue", type=_positive_int, default=256, metavar="N",
                   help="records kept while the broker is slow or away; the oldest is dropped and counted "
                        "(default 256)")
    g.add_argument("--mqtt-password-env", metavar="VAR", help="environment variable holding the MQTT password")
    g.add_argument("--mqtt-tls", action="store_true", help="TLS to the broker (implied by mqtts:// or a CA file)")
    g.add_argument("--mqtt-cafile", metavar="PEM", help="CA certificate(s) to check the broker's certificate")
    g.add_argument("--mqtt-certfile", metavar="PEM", help="client certificate, for brokers that ask for one")
    g.add_argument("--mqtt-keyfile", metavar="PEM", help="the client certificate's private key")


def publisher(args: argparse.Namespace, on_event: Callable[[str], None]) -> Any:
    """The ``MqttPublisher`` the flags ask for, or None without ``--publish``."""
    if not getattr(args, "publish", None):
        return None
    from ..publish import MqttPublisher

    return MqttPublisher(args.publish, qos=args.mqtt_qos, on_change=args.publish_on_change,
                         queue_size=args.mqtt_queue, tls=args.mqtt_tls or None, ca_file=args.mqtt_cafile,
                         cert_file=args.mqtt_certfile, key_file=args.mqtt_keyfile,
                         password_env=args.mqtt_password_env, on_event=on_event)
