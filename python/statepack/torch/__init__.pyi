# SPDX-License-Identifier: Apache-2.0
"""Type stubs of statepack.torch."""
import os
from typing import Any, Callable, Mapping, Sequence, Union

import torch

from statepack import PackReport

_Path = Union[str, "os.PathLike[str]"]

def save_file(state_dict: Mapping[str, torch.Tensor], path: _Path,
              metadata: Mapping[str, Union[str, int, float, bool]] | None = ..., *,
              quant: str | None = ..., rules: Mapping[str, str] | Sequence[str] | None = ...,
              compress: str | None = ..., bpw: float | None = ...,
              sensitivity: Mapping[str, float] | _Path | None = ..., checksum: str = ...,
              align: int = ..., threads: int | None = ..., lossless_grids: str | None = ...,
              min_sqnr: float | None = ...,
              sign_key: _Path | None = ...,
              max_chunk: int | str | None = ...) -> PackReport: ...
def load_file(path: _Path, device: Union[str, torch.device] = ...,
              dequantize: bool = ...) -> dict[str, torch.Tensor]: ...
def sensitivity(model: torch.nn.Module, inputs: Any, sqnr_db: float = ..., seeds: int = ...,
                tensor_filter: Callable[[str, torch.Tensor], bool] = ...,
                progress: Callable[..., Any] | None = ..., method: str = ...,
                projections: int = ...) -> dict[str, float]: ...
def save_sensitivity(values: Mapping[str, float], path: _Path) -> None: ...
