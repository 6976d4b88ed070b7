# The synthetic model and data are the converter tests' session fixtures, shared here.
from tests.convert.conftest import syn_converted, syn_data, syn_model_dir  # noqa: F401
