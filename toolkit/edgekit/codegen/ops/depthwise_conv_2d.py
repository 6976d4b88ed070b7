"""DEPTHWISE_CONV_2D (per-channel int8), kernel firmware/runtime/src/kernels/depthwise.c; the
lowering is CONV_2D's (ops/conv_2d.py)."""

from __future__ import annotations

from edgekit.codegen.ops import register
from edgekit.codegen.ops.conv_2d import lower_conv


@register("DEPTHWISE_CONV_2D", 4, types=("int8",), weights=("int8", "int32"),
          kernels=("depthwise.c", "schedule.c"),
          options=((0, "padding", "<b", 0), (1, "stride_w", "<i", 0), (2, "stride_h", "<i", 0),
                   (3, "depth_multiplier", "<i", 0), (4, "activation", "<b", 0),
                   (5, "dilation_w", "<i", 1), (6, "dilation_h", "<i", 1)),
          options_type="DepthwiseConv2DOptions")
def lower_depthwise_conv_2d(lw, op) -> None:
    lower_conv(lw, op, depthwise=True)
