"""The composition root: the ``fraud-detection`` command and the demo, wiring the domain to its shells."""
