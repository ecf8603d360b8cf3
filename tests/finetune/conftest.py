"""Keep TensorFlow to one thread: the machine is shared (2 cores, several jobs)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def pytest_configure(config):
    try:
        import tensorflow as tf
    except ImportError:
        return
    try:
        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.threading.set_intra_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already initialised by another plugin: keep its setting
        pass
