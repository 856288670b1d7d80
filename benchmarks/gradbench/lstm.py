"""lstm: ADBench's LSTM (diagonal weights) over a character sequence; gradient of the loss
wrt (main_params, extra_params).

Follows gradbench/gradbench python/gradbench/gradbench/tools/pytorch/lstm_objective.py
(ADBench's PyTorch LSTM): ``lstm`` returns a tuple unpacked into subscripts
``(s2[i], s2[i + 1]) = lstm(...)``, ``predict`` copies the state, ``lstm_objective`` keeps a
list of states indexed by the loop counter and uses the builtin ``sum`` (including ADBench's
quirk ``sum(exp(ypred), 2)``, builtin sum with start 2). ``torch.cat`` becomes
``np.concatenate``, ``torch.sigmoid`` ``scipy.special.expit``, ``s.clone().detach()``
``s.copy()``. Inputs follow
python/gradbench/gradbench/evals/lstm/run.py (``gen_lstm``; smallest published l=2, c=1024).
Its text evals/lstm/data/lstm_full.txt is not in the stored repository, so the text here is
1024 seeded random printable ASCII characters: the same shapes (7 bits per character).
"""
import math

import numpy as np
from fdiff import central
from scipy.special import expit as sigmoid  # torch.sigmoid

import transgrad as tg

NAME = "lstm"
CASES = ("small", "published")


def lstm(weight, bias, hidden, cell, _input):
    # NOTE this line came from: gates = hcat(input,hidden) * weight .+ bias
    gates = np.concatenate((_input, hidden, _input, hidden)) * weight + bias
    hsize = hidden.shape[0]
    forget = sigmoid(gates[0:hsize])
    ingate = sigmoid(gates[hsize: 2 * hsize])
    outgate = sigmoid(gates[2 * hsize: 3 * hsize])
    change = np.tanh(gates[3 * hsize:])
    cell = cell * forget + ingate * change
    hidden = outgate * np.tanh(cell)
    return (hidden, cell)


def predict(w, w2, s, x):
    s2 = s.copy()
    x = x * w2[0]
    for i in range(0, len(s), 2):
        (s2[i], s2[i + 1]) = lstm(w[i], w[i + 1], s[i], s[i + 1], x)
        x = s2[i]
    return (x * w2[1] + w2[2], s2)


def lstm_objective(main_params, extra_params, state, sequence, _range=None):
    if _range is None:
        _range = range(0, len(sequence) - 1)

    total = 0.0
    count = 0
    _input = sequence[_range[0]]
    all_states = [state]
    for t in _range:
        ypred, new_state = predict(main_params, extra_params, all_states[t], _input)
        all_states.append(new_state)
        ynorm = ypred - np.log(sum(np.exp(ypred), 2))
        ygold = sequence[t + 1]
        total += sum(ygold * ynorm)
        count += ygold.shape[0]
        _input = ygold
    return -total / count


def get_char_bits(text):
    return math.ceil(math.log2(max([ord(c) for c in text])))


def text_to_matrix(text, bits):
    return np.array(
        list(map(lambda c: list(map(int, bin(ord(c))[2:].zfill(bits))), text)),
        dtype=np.double,
    )


def gen_lstm(full_text, layer_count, char_count):
    use_text = full_text[:char_count]
    char_bits = get_char_bits(use_text)
    text_mat = text_to_matrix(use_text, char_bits)
    state = np.random.random((2 * layer_count, char_bits))
    main_params = np.random.random((2 * layer_count, char_bits * 4))
    extra_params = np.random.random((3, char_bits))
    return main_params, extra_params, state, text_mat


def inputs(kind):
    layers, chars = {"small": (2, 6), "published": (2, 1024)}[kind]
    rng = np.random.default_rng(31337)
    text = "".join(chr(c) for c in rng.integers(32, 127, size=chars))
    np.random.seed(31337)
    return gen_lstm(text, layers, chars)


def primal(main_params, extra_params, state, sequence):
    return lstm_objective(main_params, extra_params, state, sequence)


def derivative(main_params, extra_params, state, sequence):
    return tg.grad(lstm_objective, wrt=(0, 1))(main_params, extra_params, state, sequence)


def prepare(main_params, extra_params, state, sequence):
    """The derivative built once, as a GradBench tool builds it before its timed runs."""
    gradient = tg.grad(lstm_objective, wrt=(0, 1))
    return lambda: gradient(main_params, extra_params, state, sequence)


def derivative_jax():
    import jax
    return jax.jit(tg.grad(lstm_objective, wrt=(0, 1), backend="jax"))


def fd_derivative(main_params, extra_params, state, sequence):
    return (central(lambda p: lstm_objective(p, extra_params, state, sequence), main_params),
            central(lambda p: lstm_objective(main_params, p, state, sequence), extra_params))
