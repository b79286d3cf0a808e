"""The Ray engine on a real two-node Ray cluster: the local engine's graph, also when a worker node dies mid-run."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from kgbuild import ClusterError, Document, KnowledgeGraphDir, RayEngine, SpacyParser, build_knowledge_graph

SENTENCES = [
    "Betsy Ross was born in Philadelphia.",
    "Rome is in Lazio.",
    "Mikhail Shevtsov works for ITAR-TASS.",
    "Naples is in Campania.",
    "Bruno Pusterla works for the Italian Agricultural Confederation.",
]
DOCUMENTS = [Document(f"d{i:02d}", " ".join(SENTENCES[i % 5 :] + SENTENCES[: i % 5]), f"T{i}") for i in range(24)]


def _build(kg_path: Path, model_dir: str, engine: RayEngine | None = None, on_document=None):  # type: ignore[no-untyped-def]
    from kgbuild.extraction.extractor import RelationExtractor

    kg = KnowledgeGraphDir(kg_path, create=True)
    kg.configure_resolution(name_encoder="hashing")  # alias merges run, with the deterministic double
    extractor = RelationExtractor.load(model_dir)
    return build_knowledge_graph(
        DOCUMENTS, kg, extractor, SpacyParser(), "tiny", extractor.version, min_confidence=0.0, batch_size=4,
        on_document=on_document, engine=engine,
    )  # fmt: skip


def _document_files(kg_path: Path) -> dict[str, str]:
    return {file.name: file.read_text(encoding="utf-8") for file in (kg_path / "documents").glob("*.nq")}


def _store_quads(kg_path: Path) -> set[str]:
    """The store's quads outside the runs' own graphs (those hold each run's timestamps)."""
    store = KnowledgeGraphDir(kg_path).store()
    return {str(quad) for quad in store if "/run/" not in str(quad.graph_name)}


@pytest.fixture(scope="module")
def local_kg(tiny_model: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("local") / "kg"
    report = _build(path, tiny_model)
    assert report.documents == len(DOCUMENTS) and report.triples > 0
    return path


@pytest.fixture(scope="module")
def cluster():  # type: ignore[no-untyped-def]
    """A head node with no CPU (so every actor runs on a worker) and two 1-CPU worker nodes."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    for _ in range(2):
        cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster
    cluster.shutdown()


@pytest.fixture(scope="module")
def driver(cluster):  # type: ignore[no-untyped-def]
    """Connect this process to the head node before any node is removed; the engine reuses the connection."""
    import ray

    ray.init(address=cluster.address, logging_level="warning", log_to_driver=False)
    assert ray.get_runtime_context().get_node_id() == cluster.head_node.node_id
    yield
    ray.shutdown()


@pytest.fixture()
def throttled():  # type: ignore[no-untyped-def]
    """Let Ray Data run only a batch or two ahead of the driver, so a test can act mid-run."""
    from ray.data import DataContext, ExecutionResources

    context = DataContext.get_current()
    saved = context.execution_options.resource_limits, context.max_tasks_in_flight_per_actor
    context.execution_options.resource_limits = ExecutionResources.for_limits(object_store_memory=1)
    context.max_tasks_in_flight_per_actor = 1
    yield
    context.execution_options.resource_limits, context.max_tasks_in_flight_per_actor = saved


def _busy_nodes() -> set[str]:
    """Nodes with a CPU share taken: the ones an actor runs on (the head has no CPU)."""
    from ray._private.state import available_resources_per_node

    return {node for node, free in available_resources_per_node().items() if free.get("CPU", 0.0) < 1.0}


def test_a_two_node_cluster_builds_the_local_engines_graph(cluster, local_kg, tiny_model, tmp_path):  # type: ignore[no-untyped-def]
    report = _build(tmp_path / "kg", tiny_model, RayEngine(tiny_model, cluster.address, actors=2, batch_size=4))
    assert report.documents == len(DOCUMENTS) and not report.failed
    assert _document_files(tmp_path / "kg") == _document_files(local_kg)  # byte for byte
    assert _store_quads(tmp_path / "kg") == _store_quads(local_kg)


def test_a_worker_node_killed_mid_run_leaves_the_same_graph(cluster, driver, local_kg, tiny_model, tmp_path, throttled):  # type: ignore[no-untyped-def]
    killed: list[int] = []

    def kill_a_worker(graph, report):  # type: ignore[no-untyped-def]
        time.sleep(0.05)  # the driver's pace; throttled, Ray Data stays a batch or two ahead
        if report.documents == 4:
            nodes = _busy_nodes()
            victim = next(node for node in cluster.worker_nodes if node.node_id in nodes)
            cluster.remove_node(victim)
            killed.append(report.documents)

    engine = RayEngine(tiny_model, cluster.address, actors=2, batch_size=2)
    report = _build(tmp_path / "kg", tiny_model, engine, on_document=kill_a_worker)
    assert killed == [4]
    assert report.documents == len(DOCUMENTS)
    assert _document_files(tmp_path / "kg") == _document_files(local_kg)
    cluster.add_node(num_cpus=1)  # back to two workers for the next test
    cluster.wait_for_nodes()


def test_a_cluster_that_loses_every_worker_fails_clearly_and_a_rerun_finishes(  # type: ignore[no-untyped-def]
    cluster, driver, local_kg, tiny_model, tmp_path, throttled
):
    def kill_every_worker(graph, report):  # type: ignore[no-untyped-def]
        time.sleep(0.05)
        if report.documents == 4:
            for node in list(cluster.worker_nodes):
                cluster.remove_node(node)

    engine = RayEngine(tiny_model, cluster.address, actors=2, batch_size=2, stall_seconds=3)
    with pytest.raises(ClusterError, match=r"no CPU for an actor.*rerun"):
        _build(tmp_path / "kg", tiny_model, engine, on_document=kill_every_worker)
    written = _document_files(tmp_path / "kg")
    assert 4 <= len(written) < len(DOCUMENTS)
    assert all(text.startswith("# kgbuild ") and text.endswith("\n") for text in written.values())
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    report = _build(tmp_path / "kg", tiny_model, RayEngine(tiny_model, cluster.address, actors=1, batch_size=4))
    assert (report.documents, report.skipped_unchanged) == (len(DOCUMENTS) - len(written), len(written))
    assert _document_files(tmp_path / "kg") == _document_files(local_kg)


def test_an_unreachable_address_is_named_at_once(tiny_model, tmp_path):  # type: ignore[no-untyped-def]
    with socket.socket() as probe:  # a free port: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ClusterError, match=f"cannot reach a Ray cluster at '127.0.0.1:{port}'"):
        _build(tmp_path / "kg", tiny_model, RayEngine(tiny_model, f"127.0.0.1:{port}"))
    assert time.monotonic() - started < 30
    assert not list((tmp_path / "kg" / "documents").glob("*.nq"))
