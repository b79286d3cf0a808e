"""The relation extractor: data formats, features, the model, training, inference and scoring."""
