"""``Service.load``: the server reads everything at start; the CLI (``eager=False``) reads the other traffic profiles'
trees, the geocoder and the wide regions' sampler on first use, once, and answers exactly as the server does."""

from __future__ import annotations

import threading

import numpy as np

from lookup.service import LazyProfiles, Service
from tests.conftest import KNOWN_PLACES

FJALLGATAN = KNOWN_PLACES["Fjällgatan 44, Södermalm"][:2]


def _load_lazily(settings) -> Service:
    load = getattr(Service.load, "unpatched", Service.load)  # the real load, not the tests' shared county copy
    return load(settings, eager=False)


def test_eager_load_reads_everything_at_start(service):
    assert {"geocoder", "region_sampler"} <= service.__dict__.keys()
    assert isinstance(service.traffic, dict) and set(service.traffic) == {"free_flow", "peak"}


def test_lazy_load_reads_on_first_use_and_answers_as_the_server(service, settings):
    lazy = _load_lazily(settings)
    assert "geocoder" not in lazy.__dict__ and "region_sampler" not in lazy.__dict__
    assert isinstance(lazy.traffic, LazyProfiles)
    assert list(lazy.traffic) == list(service.traffic) and "peak" in lazy.traffic and "typical" not in lazy.traffic
    assert lazy.traffic._loaded == {}  # asking which profiles there are reads none

    answer = lazy.lookup_point(*FJALLGATAN)
    assert answer == service.lookup_point(*FJALLGATAN)
    assert answer["area"]["id"] == 4 and answer["eligible"]
    assert {"free_flow", "typical", "peak"} <= answer["eligible"][0]["drive_time_s_by_profile"].keys()
    assert "geocoder" not in lazy.__dict__  # coordinates need no geocoder
    for name, (net, trees) in lazy.traffic.items():
        assert net.profile == name
        assert np.array_equal(trees.times, service.traffic[name][1].times)

    assert lazy.lookup_text("Fjällgatan 44, Stockholm") == service.lookup_text("Fjällgatan 44, Stockholm")
    assert "geocoder" in lazy.__dict__


def test_lazy_parts_are_read_once_when_threads_ask_first_together(settings):
    lazy = _load_lazily(settings)
    start = threading.Barrier(6)
    got: list[tuple] = []

    def first_use() -> None:
        start.wait()
        got.append((lazy.region_sampler, lazy.traffic["peak"], lazy.geocoder))

    threads = [threading.Thread(target=first_use) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 6
    for sampler, peak, geocoder in got:
        assert sampler is got[0][0] and peak is got[0][1] and geocoder is got[0][2]
