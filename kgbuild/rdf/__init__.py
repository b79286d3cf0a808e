"""RDF for `kgbuild`: closed ontology namespaces, deterministic IRIs and the graph builder."""
