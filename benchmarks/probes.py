"""Representation analysis: linear probes from the model's hidden state and VQ codes.

For a trained model we draw fresh states (a train set and a test set, from two seeds), read the
core's summary vector (position 0 of the transformer output, before the VQ) and the VQ code,
and ask how well each attribute of the state can be read off them:

- hidden state: a ridge-regression (least-squares) classifier onto the one-hot attribute,
  fitted on the train states, accuracy on the test states;
- VQ codes: the best linear probe on a one-hot code is a lookup table, the majority attribute
  value per code (codes unseen in training predict the overall majority);
- majority: the accuracy of always predicting the train set's most common value (the floor).

Attributes are the state's fields as the task names them (``target``, ``shape``, ``colour``,
``relation``, ``kind``, ...), numbers shown as digits split into ``*_tens`` / ``*_ones``, and
``answer``, the correct action. Codebook usage (codes used / codebook size) and perplexity are
measured on the test states.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agents.model import device_of, evaluating
from wmil_envs.memory import fresh

PROBE_SEED_OFFSET = 2_000_003
RIDGE = 1e-2


def attributes(fields: dict[str, np.ndarray], answer: np.ndarray) -> dict[str, np.ndarray]:
    """Categorical attributes of each state; numbers above 20 are split into digits."""
    out: dict[str, np.ndarray] = {}
    for name, values in fields.items():
        values = np.asarray(values).astype(np.int64)
        if values.max(initial=0) >= 20:
            out[f"{name}_tens"] = values // 10
            out[f"{name}_ones"] = values % 10
        else:
            out[name] = values
    out["answer"] = np.asarray(answer).astype(np.int64)
    return out


@torch.no_grad()
def _features(model, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    with evaluating(model):
        out = model(torch.as_tensor(obs).to(device_of(model)))
    hidden = out.hidden[:, 0].double().cpu().numpy()
    codes = out.vq.codes.cpu().numpy() if out.vq is not None else None
    return hidden, codes


def _states(cfg, n: int, seed: int):
    envs = gym.make_vec(cfg.env_id, num_envs=n, **cfg.env_kwargs())
    try:
        obs, _ = envs.reset(seed=seed)
        fields = {k: np.array(v) for k, v in envs.unwrapped.states.fields.items()}
        if cfg.episode_memory > 1:  # the model reads memories: these episodes just started
            obs = fresh(obs, cfg.episode_memory)
        return obs, attributes(fields, envs.call("oracle"))
    finally:
        envs.close()


def ridge_probe(x_train, y_train, x_test, y_test) -> float:
    classes = np.unique(y_train)
    onehot = (y_train[:, None] == classes[None, :]).astype(np.float64)
    mean, std = x_train.mean(0), x_train.std(0) + 1e-8
    a = np.hstack([(x_train - mean) / std, np.ones((len(x_train), 1))])
    b = np.hstack([(x_test - mean) / std, np.ones((len(x_test), 1))])
    w = np.linalg.solve(a.T @ a + RIDGE * len(a) * np.eye(a.shape[1]), a.T @ onehot)
    return float((classes[(b @ w).argmax(1)] == y_test).mean())


def _mode(values: np.ndarray) -> int:
    """The most common value (the smallest on ties); values may be negative."""
    uniques, counts = np.unique(values, return_counts=True)
    return int(uniques[counts.argmax()])


def code_probe(c_train, y_train, c_test, y_test) -> float:
    overall = _mode(y_train)
    table = {}
    for code in np.unique(c_train):
        table[int(code)] = _mode(y_train[c_train == code])
    pred = np.array([table.get(int(c), overall) for c in c_test])
    return float((pred == y_test).mean())


def probe_model(model, cfg, n: int, seed: int) -> dict[str, Any]:
    """Probe accuracies per attribute and codebook usage; JSON-ready."""
    obs_tr, y_tr = _states(cfg, n, seed + PROBE_SEED_OFFSET)
    obs_te, y_te = _states(cfg, n, seed + PROBE_SEED_OFFSET + 1)
    h_tr, c_tr = _features(model, obs_tr)
    h_te, c_te = _features(model, obs_te)
    result: dict[str, Any] = {"hidden": {}, "vq": {}, "majority": {}}
    for name in y_tr:
        if len(np.unique(y_tr[name])) < 2:
            continue  # a constant attribute at this level says nothing
        result["hidden"][name] = ridge_probe(h_tr, y_tr[name], h_te, y_te[name])
        majority = _mode(y_tr[name])
        result["majority"][name] = float((y_te[name] == majority).mean())
        if c_tr is not None:
            result["vq"][name] = code_probe(c_tr, y_tr[name], c_te, y_te[name])
    if c_te is not None:
        counts = np.bincount(c_te, minlength=model.vq.num_codes).astype(np.float64)
        probs = counts / counts.sum()
        nz = probs[probs > 0]
        result["vq_codes_used"] = int((counts > 0).sum())
        result["vq_usage"] = float((counts > 0).mean())
        result["vq_perplexity"] = float(np.exp(-(nz * np.log(nz)).sum()))
    else:
        result.pop("vq")
    return result
