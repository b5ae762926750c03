"""Issue 11, finding 8: bad data is refused at start, never served.

``serve`` and ``lookup`` run the checks of ``asih providers --check`` and ``asih areas --check`` before answering;
``prepare`` (and a server's start) refuses a road network that cannot be the county's; audit data that cannot be
loaded makes ``/health`` answer 503 naming the file, and is rebuilt at start when it can be. Real files and the real
``asih`` command, on private copies of the data and the cache.
"""

from __future__ import annotations

import gzip
import shutil

import pytest
import yaml
from fastapi.testclient import TestClient

from api.app import StartupRefused, create_app
from lookup.service import Service
from core.settings import Settings
from routing.loaders import DEFAULT_MATSIM_FILE
from tests.reliability.conftest import run_asih


def _providers(settings, tmp_path, change) -> str:
    doc = yaml.safe_load(settings.providers_file.read_text(encoding="utf-8"))
    change(doc)
    path = tmp_path / "providers.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return str(path)


def _swap_lat_lon(doc):
    base = doc["units"][0]["bases"][0]
    base["lat"], base["lon"] = base["lon"], base["lat"]  # 18.x, 59.x: the Gulf of Aden, 6 000 km away


def _duplicate_unit(doc):
    doc["units"].append(dict(doc["units"][0]))


@pytest.mark.parametrize(("change", "problem"), [(_swap_lat_lon, "is outside the county"),
                                                 (_duplicate_unit, "is listed 2 times")])
def test_serve_and_lookup_refuse_an_invalid_providers_file(settings, full_cache_copy, tmp_path, change, problem):
    providers = _providers(settings, tmp_path, change)
    env = {"ASIH_PROVIDERS_FILE": providers}
    for args in (["serve", "--port", "1"], ["lookup", "59.3148, 18.0843"], ["batch", __file__, str(tmp_path / "o")]):
        done = run_asih(*args, cache_dir=full_cache_copy, env=env, timeout=120)
        assert done.returncode == 2, (args, done.stdout[-1000:], done.stderr[-2000:])
        assert f"The providers file {providers} is invalid" in done.stderr and problem in done.stderr, done.stderr
        assert "asih providers --check" in done.stderr and "Traceback" not in done.stderr
    app = create_app(Settings(cache_dir=full_cache_copy, providers_file=providers))
    with pytest.raises(StartupRefused, match="providers file"):
        with TestClient(app):
            pass


def test_serve_refuses_an_invalid_areas_file(settings, full_cache_copy, tmp_path):
    doc = yaml.safe_load(settings.areas_file.read_text(encoding="utf-8"))
    doc["areas"][4]["districts"].append("Södermalm")  # Södermalm in areas 4 and 5: overlapping areas
    areas = tmp_path / "areas.yaml"
    areas.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    done = run_asih("serve", "--port", "1", cache_dir=full_cache_copy, env={"ASIH_AREAS_FILE": str(areas)})
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"The areas file {areas} is invalid" in done.stderr and "asih areas --check" in done.stderr
    assert "Södermalm" in done.stderr and "Traceback" not in done.stderr


def test_prepare_and_serve_refuse_a_partial_network(settings, full_cache_copy, tmp_path):
    """A valid MATSim XML holding 15 000 of the county's 80 866 links once prepared with exit 0."""
    lines = gzip.decompress(settings.raw(DEFAULT_MATSIM_FILE).read_bytes()).decode("utf-8").splitlines(keepends=True)
    links = [i for i, line in enumerate(lines) if line.lstrip().startswith("<link ")]
    assert len(links) == 80_866
    partial = lines[: links[0]] + lines[links[0]: links[0] + 15_000] + lines[links[-1] + 1:]
    network = tmp_path / "partial.xml.gz"
    network.write_bytes(gzip.compress("".join(partial).encode("utf-8")))
    env = {"ASIH_NETWORK_FILE": str(network)}
    done = run_asih("prepare", "--profile", "free_flow", cache_dir=full_cache_copy, env=env, timeout=600)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    err = " ".join(done.stderr.split())
    assert "The road network (matsim) is implausible; check the network file" in err, err
    assert "largest connected part holds" in err and "of the county's population lives within" in err, err
    assert "cannot reach its approved area" in err and "Traceback" not in err
    app = create_app(Settings(cache_dir=full_cache_copy, network_file=str(network)))
    with pytest.raises(StartupRefused, match="implausible"):
        with TestClient(app):
            pass


def test_unreadable_audit_data_is_not_ready_and_repaired_at_start(tiny, tiny_service, tmp_path):
    """On the tiny real model (the county's cache code and start-up; its samples rebuild in a second, the county's
    in 15 s or more)."""
    cache = tmp_path / "cache"
    shutil.copytree(tiny.settings.cache_dir, cache)  # with the samples tiny_service's load made
    settings = tiny.settings.model_copy(update={"cache_dir": cache})
    with TestClient(create_app(tiny.settings, service=tiny_service)) as intact:
        expected = intact.get("/v1/audit").json()
    assert expected
    svc = Service.load(settings, rebuild=False)
    samples = cache / "samples" / "samples.npz"
    size = samples.stat().st_size
    samples.write_bytes(samples.read_bytes()[:1000])
    app = create_app(settings, service=svc)
    plain = TestClient(app)  # no start-up: readiness is checked on the first /health
    r = plain.get("/health")
    assert r.status_code == 503 and str(samples) in r.json()["detail"] and "asih prepare" in r.json()["detail"]
    with TestClient(app) as client:  # start-up rebuilds the damaged entry
        assert client.get("/health").status_code == 200
        audit = client.get("/v1/audit")
        assert audit.status_code == 200 and audit.json() == expected
    assert samples.stat().st_size == size
    shutil.rmtree(cache / "samples")
