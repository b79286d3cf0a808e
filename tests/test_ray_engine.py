"""The Ray engine on a real two-node Ray cluster: the local engine's graph, also when a worker node dies mid-run."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from kgbuild import ClusterError, RayEngine, SpacyParser
from tests.engines import BATCH, build, document_files, documents, store_quads

DOCUMENTS = documents(24)


@pytest.fixture(scope="module")
def local_kg(tiny_model: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("local") / "kg"
    report = build(path, tiny_model, DOCUMENTS)
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


def _busy_nodes() -> set[str]:
    """Nodes with a CPU share taken: the ones an actor runs on (the head has no CPU)."""
    from ray._private.state import available_resources_per_node

    return {node for node, free in available_resources_per_node().items() if free.get("CPU", 0.0) < 1.0}


def test_a_two_node_cluster_builds_the_local_engines_graph(cluster, local_kg, tiny_model, tmp_path):  # type: ignore[no-untyped-def]
    report = build(
        tmp_path / "kg", tiny_model, DOCUMENTS, RayEngine(tiny_model, cluster.address, actors=2, batch_size=BATCH)
    )
    assert report.documents == len(DOCUMENTS) and not report.failed
    assert document_files(tmp_path / "kg") == document_files(local_kg)  # byte for byte
    assert store_quads(tmp_path / "kg") == store_quads(local_kg)


def _remove_workers_once_placed(cluster, every: bool) -> threading.Thread:  # type: ignore[no-untyped-def]
    """Remove the worker node of the first actor placed (or every worker node) as soon as the pool is placed.

    The actors are then importing torch or extracting: their windows are in flight, not finished.
    """

    def watch() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            hosts = [node for node in cluster.worker_nodes if node.node_id in _busy_nodes()]
            if hosts:
                for node in list(cluster.worker_nodes) if every else hosts[:1]:
                    cluster.remove_node(node)
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def test_a_worker_node_killed_mid_run_leaves_the_same_graph(cluster, driver, local_kg, tiny_model, tmp_path):  # type: ignore[no-untyped-def]
    watcher = _remove_workers_once_placed(cluster, every=False)
    report = build(
        tmp_path / "kg", tiny_model, DOCUMENTS, RayEngine(tiny_model, cluster.address, actors=2, batch_size=BATCH)
    )
    watcher.join(timeout=10)
    assert len(cluster.worker_nodes) == 1  # one node was killed during the run
    assert report.documents == len(DOCUMENTS)
    assert document_files(tmp_path / "kg") == document_files(local_kg)
    cluster.add_node(num_cpus=1)  # back to two workers for the next test
    cluster.wait_for_nodes()


def test_a_cluster_that_loses_every_worker_fails_clearly_and_a_rerun_finishes(  # type: ignore[no-untyped-def]
    cluster, driver, local_kg, tiny_model, tmp_path
):
    build(tmp_path / "kg", tiny_model, DOCUMENTS[:8])  # what an earlier run wrote
    before = document_files(tmp_path / "kg")
    watcher = _remove_workers_once_placed(cluster, every=True)
    engine = RayEngine(tiny_model, cluster.address, actors=2, batch_size=BATCH, stall_seconds=3)
    with pytest.raises(ClusterError, match=r"no CPU for an actor.*documents written so far are kept.*rerun"):
        build(tmp_path / "kg", tiny_model, DOCUMENTS, engine)
    watcher.join(timeout=10)
    assert not cluster.worker_nodes
    written = document_files(tmp_path / "kg")
    assert len(written) < len(DOCUMENTS) and {name: written[name] for name in before} == before
    assert not list((tmp_path / "kg" / "documents").glob(".*.partial"))
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    report = build(
        tmp_path / "kg", tiny_model, DOCUMENTS, RayEngine(tiny_model, cluster.address, actors=1, batch_size=BATCH)
    )
    assert (report.documents, report.skipped_unchanged) == (len(DOCUMENTS) - len(written), len(written))
    assert document_files(tmp_path / "kg") == document_files(local_kg)


def test_batch_composition_moves_confidences_only_in_the_last_digits(tiny_model):  # type: ignore[no-untyped-def]
    """Ray's batches are not the local engine's: a batch pads its texts to its longest, in float32."""
    from kgbuild.extraction.extractor import RelationExtractor

    extractor = RelationExtractor.load(tiny_model)
    extractor.relation_floor = 0.01  # every candidate, as --min-confidence 0 asks
    texts = [parsed.text for parsed in SpacyParser().parse(DOCUMENTS)]
    alone = [extractor.extract([text], batch_size=1)[0] for text in texts]
    together = extractor.extract(texts, batch_size=8)
    pairs = []
    for one, many in zip(alone, together, strict=True):
        assert [(r.head, r.tail, r.label) for r in one.relations] == [(r.head, r.tail, r.label) for r in many.relations]
        pairs += [(a.confidence, b.confidence) for a, b in zip(one.relations, many.relations, strict=True)]
        pairs += [(a.confidence, b.confidence) for a, b in zip(one.entities, many.entities, strict=True)]
    change = max(abs(a - b) for a, b in pairs)
    print(f"largest confidence change from batch composition: {change:.1e} over {len(pairs)} confidences")
    assert len(pairs) > 100 and change < 1e-5
    assert all((a >= 0.5) == (b >= 0.5) for a, b in pairs)  # no triple crosses the decision
    assert all(f"{a:.4f}" == f"{b:.4f}" for a, b in pairs)  # nor the 4 decimals a graph file keeps
