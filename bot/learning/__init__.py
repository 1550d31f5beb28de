"""Learning: the nightly review, learned-rule proposals and the training export."""
