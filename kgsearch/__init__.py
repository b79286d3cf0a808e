"""kgsearch: answer questions from a knowledge graph built by kgbuild, every hit explained."""
