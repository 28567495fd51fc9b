"""Training-free scores of spiking networks: HD / SAHD kernels, ``score`` and the proxy registry."""

from naslib_snn.predictors.kernels import hamming_distance, hd_kernel, log_abs_det, sahd_kernel
from naslib_snn.predictors.registry import PROXIES, get_proxy, list_proxies, register_proxy
from naslib_snn.predictors.scoring import METRICS, REFERENCE_NUM_BATCHES, score

__all__ = [
    "METRICS",
    "PROXIES",
    "REFERENCE_NUM_BATCHES",
    "get_proxy",
    "hamming_distance",
    "hd_kernel",
    "list_proxies",
    "log_abs_det",
    "register_proxy",
    "sahd_kernel",
    "score",
]
