"""boto3 sessions that share botocore's data loader (the service models and endpoint tables).

A new ``boto3.session.Session`` reads and parses botocore's JSON data again (endpoints,
partitions, the service model: ~0.5 s of CPU per client), although that data never changes in
a process. Every AWS client of ``bot/llm`` takes its session from ``new_session``: a session of
its own (credentials, region and configuration are resolved per session as before), whose
loader is the one shared, read-only cache. ``AWS_DATA_PATH`` is read when the first session is
made (MyTrader never sets it).
"""

from __future__ import annotations

import threading

import boto3
import botocore.loaders
import botocore.session

_lock = threading.Lock()
_loader: list[botocore.loaders.Loader] = []  # made on first use, then shared


def new_session(region: str) -> boto3.session.Session:
    """A boto3 session in ``region`` whose botocore data comes from the process's one loader."""
    botocore_session = botocore.session.get_session()
    with _lock:
        if _loader:
            botocore_session.register_component("data_loader", _loader[0])
        session = boto3.session.Session(botocore_session=botocore_session, region_name=region)
        loader = botocore_session.get_component("data_loader")
        if not _loader:
            _loader.append(loader)
        # boto3 appends its own data folder to the loader's search path for each session
        paths = loader.search_paths
        while len(paths) > 1 and paths[-1] in paths[:-1]:
            paths.pop()
    return session
