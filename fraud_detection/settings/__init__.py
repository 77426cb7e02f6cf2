"""The fields of ``Settings`` (fraud_detection/config.py) by what they govern, one group a module."""
