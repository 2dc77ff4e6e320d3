"""The served form of a GRU ``CharRNN``: the same network, stepped by hand for sampling.

A /name runs the network about ten times on 8–32 rows. At that size ``nn.GRU`` (fp32 or int8)
spends most of its time on per-call overhead, not arithmetic, so sampling uses this instead:

* The first layer's input is ``embedding[token] + condition``, so its input projection is
  ``W_ih·embedding[token] + W_ih·condition``: a (vocab × 3H) table per model and one
  (values × 3H) table per attribute, computed once at load in fp32. That projection costs a
  row lookup per step instead of a matrix product (and is exact, not int8).
* The recurrent products, the upper layers' input products and the output head are int8
  dynamic ``quantized::linear_dynamic`` calls on weights quantised exactly as
  ``torch.ao.quantization.quantize_dynamic`` does for the int8 ``nn.GRU`` (or the stored fp32
  weights with ``int8=False``, the same arithmetic as ``nn.GRU``), so those numbers match the
  int8 ``nn.GRU``'s. fp32 products are ~3× slower than int8 at 8–32 rows on this CPU.
* Classifier-free guidance (``sample.GuidedRNN``) is built in: each row carries its "asked"
  and "any" branch side by side in one state tensor, so a guided step is one batch without
  joining and splitting states.
* The step loop is TorchScript (see ``_scripted``).

The recurrent state is a tuple: each layer's hidden state (1, rows, branches·H), then
(1, rows, branches·3H), the first layer's per-row input projection of the row's condition
(bias included). All have the batch in dim 1, so ``model.expand_state`` and
``model.select_rows`` work on it unchanged; the condition travels with the state, so
``attributes`` is read only when a sequence starts from no state.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:  # model.py builds a stepper at load, so it is imported from there
    from ml.names.model import CharRNN


PackedLinear = torch.classes.quantized.LinearPackedParamsBase  # int8 weights + fp32 bias


def _quantize_and_pack(weight: torch.Tensor, bias: torch.Tensor) -> PackedLinear:
    """int8 weights as ``quantize_dynamic`` makes them for a GRU or Linear (its default
    observer: per-tensor symmetric), packed with the fp32 bias for ``linear_dynamic``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the torch.ao quantisation ops are marked deprecated
        observer = torch.ao.quantization.default_dynamic_qconfig.weight()
        observer(weight)
        scale, zero_point = observer.calculate_qparams()
        qweight = torch.quantize_per_tensor(
            weight.detach().float(), float(scale), int(zero_point), torch.qint8
        )
        return torch.ops.quantized.linear_prepack(qweight, bias.detach().float())


def _first_layer_cell(gi: torch.Tensor, gh: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """One GRU update from the input and hidden projections (both biases included), the
    gates in PyTorch's order (reset, update, new): h' = n + z·(h − n)."""
    size = h.shape[1]
    rz = torch.sigmoid(gi[:, : 2 * size] + gh[:, : 2 * size])
    n = torch.tanh(torch.addcmul(gi[:, 2 * size :], rz[:, :size], gh[:, 2 * size :]))
    return torch.lerp(n, h, rz[:, size:])


def _int8_cell(gi: torch.Tensor, gh: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """``_first_layer_cell`` with tanh(a) as 2·sigmoid(2a) − 1: the same function (within
    1e-7, far below int8's rounding), and torch's tanh costs as much as the rest of the cell."""
    size = h.shape[1]
    rz = torch.sigmoid(gi[:, : 2 * size] + gh[:, : 2 * size])
    a = torch.addcmul(gi[:, 2 * size :], rz[:, :size], gh[:, 2 * size :])
    n = torch.sigmoid(a.mul_(2.0)).mul_(2.0).sub_(1.0)
    return torch.lerp(n, h, rz[:, size:])


def _token_rows(idx: torch.Tensor, step: int, branches: int) -> torch.Tensor:
    """The tokens of ``step`` for every (row, branch) of the batch."""
    tokens = idx[:, step]
    return tokens.repeat_interleave(branches) if branches > 1 else tokens


def _scripted(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` compiled by TorchScript, or as it is where this torch cannot script it.

    Called from Python, each ``torch.ops.quantized`` call pays several microseconds of
    dispatch (it scans its arguments for script objects), about as much as the work itself on
    a 16-row batch; scripted, a step costs about half. ``torch.jit.script`` is marked
    deprecated, hence the fallback: the same code runs (slower) as plain Python.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.script(function)
    except Exception:  # any failure to compile leaves the Python function
        return function


def _int8_steps(
    idx: torch.Tensor,
    token_inputs: torch.Tensor,
    condition: torch.Tensor,
    hidden: list[torch.Tensor],
    branches: int,
    first_hidden: PackedLinear,
    upper_input: list[PackedLinear],
    upper_hidden: list[PackedLinear],
    head: PackedLinear,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Logits (batch·time, vocab) and the new per-layer hidden states; int8 products (the
    packed weights carry their biases)."""
    hidden = list(hidden)
    tops: list[torch.Tensor] = []
    for step in range(idx.shape[1]):
        gi = torch.index_select(token_inputs, 0, _token_rows(idx, step, branches)) + condition
        gh = torch.ops.quantized.linear_dynamic(hidden[0], first_hidden, True)
        hidden[0] = _int8_cell(gi, gh, hidden[0])
        for layer in range(1, len(hidden)):
            gi = torch.ops.quantized.linear_dynamic(hidden[layer - 1], upper_input[layer - 1], True)
            gh = torch.ops.quantized.linear_dynamic(hidden[layer], upper_hidden[layer - 1], True)
            hidden[layer] = _int8_cell(gi, gh, hidden[layer])
        tops.append(hidden[-1])
    top = tops[0] if len(tops) == 1 else torch.stack(tops, 1).reshape(-1, tops[0].shape[1])
    return torch.ops.quantized.linear_dynamic(top, head, True), hidden


def _fp32_steps(
    idx: torch.Tensor,
    token_inputs: torch.Tensor,
    condition: torch.Tensor,
    hidden: list[torch.Tensor],
    branches: int,
    first_hidden_weight: torch.Tensor,
    first_hidden_bias: torch.Tensor,
    upper_input: list[torch.Tensor],
    upper_hidden: list[torch.Tensor],
    upper_input_bias: list[torch.Tensor],
    upper_hidden_bias: list[torch.Tensor],
    head_weight: torch.Tensor,
    head_bias: torch.Tensor,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``_int8_steps`` with the stored fp32 weights (the same arithmetic as ``nn.GRU``)."""
    hidden = list(hidden)
    tops: list[torch.Tensor] = []
    for step in range(idx.shape[1]):
        gi = torch.index_select(token_inputs, 0, _token_rows(idx, step, branches)) + condition
        gh = torch.nn.functional.linear(hidden[0], first_hidden_weight, first_hidden_bias)
        hidden[0] = _first_layer_cell(gi, gh, hidden[0])
        for layer in range(1, len(hidden)):
            hidden[layer] = torch.gru_cell(
                hidden[layer - 1],
                hidden[layer],
                upper_input[layer - 1],
                upper_hidden[layer - 1],
                upper_input_bias[layer - 1],
                upper_hidden_bias[layer - 1],
            )
        tops.append(hidden[-1])
    top = tops[0] if len(tops) == 1 else torch.stack(tops, 1).reshape(-1, tops[0].shape[1])
    return torch.nn.functional.linear(top, head_weight, head_bias), hidden


_int8_steps = _scripted(_int8_steps)
_fp32_steps = _scripted(_fp32_steps)


class GRUStepper(nn.Module):
    """A sampling-only copy of a GRU ``CharRNN`` (a snapshot of its weights, eval mode).

    Called like ``CharRNN``: ``idx`` (rows, time) → logits (rows, time, vocab) and the state.
    ``guided(free, scale)`` gives the classifier-free-guidance form, which returns
    ``log p_any + scale · (log p_asked − log p_any)`` like ``sample.GuidedRNN``.
    """

    def __init__(self, model: CharRNN, int8: bool = True) -> None:
        super().__init__()
        config = model.config
        if config.cell != "gru":
            raise ValueError("GRUStepper steps GRU models only")
        self.config, self.int8 = config, int8
        self.hidden_size, self.num_layers = config.hidden_size, config.num_layers
        self.free: torch.Tensor | None = None  # guidance: the "any" branch's attribute row
        self.scale = 1.0
        rnn = model.rnn

        def weight(name: str) -> torch.Tensor:
            return getattr(rnn, name).detach().float().clone()

        with torch.no_grad():
            first_input = weight("weight_ih_l0")
            self.token_inputs = model.embedding.weight.detach().float() @ first_input.T
            self.input_bias = weight("bias_ih_l0")
            self.attribute_inputs = [
                table.weight.detach().float() @ first_input.T
                for table in model.attribute_embeddings
            ]
            self.attribute_rows = [
                table.weight.detach().float().clone() for table in model.attribute_embeddings
            ]
        to_state = model.attribute_to_state
        self.state_weight = None if to_state is None else to_state.weight.detach().float().clone()
        self.state_bias = None if to_state is None else to_state.bias.detach().float().clone()
        upper = range(1, config.num_layers)
        first_hidden = (weight("weight_hh_l0"), weight("bias_hh_l0"))
        upper_input = [weight(f"weight_ih_l{i}") for i in upper]
        upper_hidden = [weight(f"weight_hh_l{i}") for i in upper]
        upper_input_bias = [weight(f"bias_ih_l{i}") for i in upper]
        upper_hidden_bias = [weight(f"bias_hh_l{i}") for i in upper]
        head = (model.head.weight.detach().float().clone(), model.head.bias.detach().float())
        if int8:  # only the packed int8 weights are kept (each style serves from these)
            self.packed_first_hidden = _quantize_and_pack(*first_hidden)
            self.packed_upper_input = [
                _quantize_and_pack(w, b) for w, b in zip(upper_input, upper_input_bias, strict=True)
            ]
            self.packed_upper_hidden = [
                _quantize_and_pack(w, b)
                for w, b in zip(upper_hidden, upper_hidden_bias, strict=True)
            ]
            self.packed_head = _quantize_and_pack(*head)
        else:
            self.first_hidden, self.head = first_hidden, head
            self.upper_input, self.upper_hidden = upper_input, upper_hidden
            self.upper_input_bias, self.upper_hidden_bias = upper_input_bias, upper_hidden_bias
        self.eval()

    @property
    def branches(self) -> int:
        return 1 if self.free is None else 2

    def guided(self, free: torch.Tensor, scale: float) -> GRUStepper:
        """The guidance form (sharing the weights): ``free`` (1, n) is the "any" attributes."""
        out = copy.copy(self)
        out.free, out.scale = free, scale
        return out

    def start(self, rows: int, attributes: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        """The state before the first character: from the attributes (rows, n) when given."""
        layers, size, branches = self.num_layers, self.hidden_size, self.branches
        if attributes is None or not self.attribute_inputs:
            if self.free is not None:
                raise ValueError("guidance needs the requested attributes")
            inputs = self.input_bias.expand(1, rows, -1).contiguous()
            return (*(torch.zeros(1, rows, size) for _ in range(layers)), inputs)
        if self.free is not None:  # (rows, 2, n): the asked row, then the "any" row
            attributes = torch.stack([attributes, self.free.expand_as(attributes)], dim=1)
        inputs = self.input_bias + sum(
            table[attributes[..., i]] for i, table in enumerate(self.attribute_inputs)
        )
        inputs = inputs.reshape(1, rows, -1)
        if self.state_weight is None:
            zeros = (torch.zeros(1, rows, branches * size) for _ in range(layers))
            return (*zeros, inputs)
        condition = sum(table[attributes[..., i]] for i, table in enumerate(self.attribute_rows))
        hidden = torch.tanh(nn.functional.linear(condition, self.state_weight, self.state_bias))
        hidden = hidden.reshape(1, rows, branches, layers, size)
        return (*(hidden[..., i, :].reshape(1, rows, -1) for i in range(layers)), inputs)

    def forward(
        self, idx: torch.Tensor, state: Any = None, attributes: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, Any]:
        rows, steps = idx.shape
        if state is None:
            state = self.start(rows, attributes)
        *hidden, inputs = state
        size, branches = self.hidden_size, self.branches
        batch = rows * branches
        per_layer = [h.reshape(batch, size) for h in hidden]
        condition = inputs.reshape(batch, 3 * size)
        common = (idx, self.token_inputs, condition, per_layer, branches)
        if self.int8:
            logits, per_layer = _int8_steps(
                *common,
                self.packed_first_hidden,
                self.packed_upper_input,
                self.packed_upper_hidden,
                self.packed_head,
            )
        else:
            logits, per_layer = _fp32_steps(
                *common,
                *self.first_hidden,
                self.upper_input,
                self.upper_hidden,
                self.upper_input_bias,
                self.upper_hidden_bias,
                *self.head,
            )
        new_state = (*(h.reshape(1, rows, branches * size) for h in per_layer), inputs)
        logits = logits.reshape(rows, branches, steps, -1)
        if self.free is None:
            return logits[:, 0], new_state
        logp = torch.log_softmax(logits, dim=-1)
        asked, anyone = logp[:, 0], logp[:, 1]
        return anyone + self.scale * (asked - anyone), new_state
