"""LLM parents: the Parent protocol answered by an LLM, checked by the task's rules.

``OpenAIParent`` talks to any OpenAI-compatible Chat Completions server through the official
``openai`` SDK (OpenAI, vLLM, llama.cpp server, Ollama; structured output by ``response_format``
json_schema). ``AnthropicParent`` talks to Anthropic Messages through the official ``anthropic``
SDK (structured output by a forced tool call). Both share :class:`LLMParent`: prompts, schema
checks, validators, the disk cache, concurrency, fault handling and ``stats()``.

What the LLM is asked, and what the rules check (``policy``: ``strict`` uses the rules' answer
and counts a disagreement, ``advisory`` uses the LLM's schema-valid answer and counts, ``off``
uses it unchecked):

- ``generate``: one instance of the level (and split) with its answer; checked by the task's
  field schema and ``instance_problem`` (an unusable instance is re-asked, then replaced by the
  rules' draw), the answer compared with the rule's. For a world: a start and a target object
  and the first action of a shortest path;
- ``reward``: whether the action is correct; for a world, whether it reaches the target now
  (1.0 only on the reaching step; a held step gives 0);
- ``transition``: the next state's last action and feedback (``correct`` / ``wrong``); for a
  world also the next object (its fields over all objects, ``World.object_schema``) and the
  feedback ``held`` once the goal was reached. Compared with ``task.transition`` and
  ``task.feedback``: a wrong object or feedback is one disagreement.

Settings (keyword arguments; the defaults come from these environment variables):

================  ==========================  =============================================
argument          environment variable        allowed values (default)
================  ==========================  =============================================
cache_dir         WMIL_LLM_CACHE_DIR          a directory (``~/.cache/wmil/llm``)
mode              WMIL_LLM_MODE               live, record, replay (record)
policy            WMIL_LLM_POLICY             strict, advisory, off (strict)
on_error          WMIL_LLM_ON_ERROR           fallback, raise (fallback)
concurrency       WMIL_LLM_CONCURRENCY        calls in flight per batch, >= 1 (8)
timeout           WMIL_LLM_TIMEOUT            seconds per socket read, > 0 (30)
deadline          WMIL_LLM_DEADLINE           seconds per answer in all (requests, retries,
                                              waits, re-asks), > 0 (120)
max_response_     WMIL_LLM_MAX_RESPONSE_BYTES largest reply accepted, bytes, >= 1024
bytes                                         (1000000)
max_retry_wait    WMIL_LLM_MAX_RETRY_WAIT     longest wait a ``Retry-After`` may ask, s,
                                              >= 0 (10)
max_retries       WMIL_LLM_MAX_RETRIES        SDK retries of transient faults, >= 0 (2)
invalid_retries   WMIL_LLM_INVALID_RETRIES    re-asks after an unusable answer, >= 0 (1)
roles             WMIL_LLM_ROLES              comma list of generate,reward,transition (all)
temperature       --                          finite float >= 0 (0.0)
max_tokens        --                          int (512)
================  ==========================  =============================================

API keys come only from the environment (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``), read by
the SDKs; base URLs from ``base_url=`` or ``OPENAI_BASE_URL`` / ``ANTHROPIC_BASE_URL``. A key is
never part of a cache key, a cache file, ``repr`` or ``stats()``. Each server has its own folder
of the cache, ``server-<digest>`` (a digest of the scheme, host, port and path of its URL,
without any user, password or query), so two servers that serve a model of the same name never
share answers; the URL itself is written nowhere. (Recordings made before servers had folders
replay once moved into their server's folder, which a CacheMiss names.)

Outcomes of faults (the SDK retries transient faults ``max_retries`` times first):

- 429, 408, 409, 5xx, timeouts, refused connections, and a call past its ``deadline`` or a
  reply over ``max_response_bytes`` (:mod:`teachers.bounded_http`; ``Retry-After`` waits are cut
  to ``max_retry_wait``): after the SDK's retries, ``on_error``:
  ``fallback`` uses the rule's answer (counted in ``fallbacks`` and ``errors``), ``raise``
  raises :class:`ParentError`;
- other 4xx (bad key 401, unknown model 404, bad request 400...): :class:`ParentError` at
  once, whatever ``on_error`` (a configuration error, not a fault to paper over);
- non-JSON or non-UTF-8 body, body of the wrong shape, answer failing the schema or the
  validators' sanity checks, refusal: re-asked ``invalid_retries`` times, then ``on_error`` as
  above (counted in ``invalid`` / ``refusals``);
- replay mode and no cached answer, or a corrupt cache file: :class:`CacheMiss`, always (record
  mode re-asks and rewrites a corrupt file).

Fallback answers are never cached; only schema-valid LLM answers are. In record mode the cache
directory is checked for writing when the parent is made; a write that fails later (disk full)
warns once and keeps the answer. ``stats()`` counts ``asked`` (answers wanted) and
``fallback_rate``; ``agents.train`` warns at the first fallback and stops a run above its
``max_fallback_rate``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import sys
import threading
import time
import urllib.parse
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from teachers import bounded_http, prompts
from teachers.cache import MODES, CacheMiss, CorruptCacheEntry, DiskCache, cache_key
from teachers.schemas import (
    instance_problem,
    instance_schema,
    reward_schema,
    schema_problem,
    transition_schema,
)
from wmil_envs import vocab
from wmil_envs.files import check_output_dir
from wmil_envs.parent import SUCCESS_THRESHOLD
from wmil_envs.state import StateBatch
from wmil_envs.tasks.base import Task

POLICIES = ("strict", "advisory", "off")
"""strict: use the rule's answer and count disagreements; advisory: use the LLM's answer and
count disagreements; off: use the LLM's answer, no comparison."""
ON_ERROR = ("fallback", "raise")
ROLES = ("generate", "reward", "transition")


class ParentError(RuntimeError):
    """An LLM parent could not get a usable answer, or was configured wrongly."""


def __getattr__(name: str):
    """``TeacherError``: the old name of :class:`ParentError`, kept as a deprecated alias."""
    if name == "TeacherError":
        warnings.warn(
            "teachers.TeacherError is deprecated; use teachers.ParentError (the same class)",
            DeprecationWarning,
            stacklevel=2,
        )
        return ParentError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class InvalidAnswer(ValueError):
    """The LLM's reply cannot be used: not JSON, wrong shape, fails the schema."""


class Refusal(InvalidAnswer):
    """The model refused to answer."""


def _choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; use one of {', '.join(allowed)}")
    return value


def _number(name: str, value: Any, cast: type, low: float, strict_low: bool = False):
    try:
        number = cast(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} must be a {cast.__name__}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(f"{name}={value!r} must be a finite number")
    if number < low or (strict_low and number == low):
        relation = ">" if strict_low else ">="
        raise ValueError(f"{name}={value!r} must be {relation} {low}")
    return number


def _env(name: str, default: Any) -> Any:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


class LLMParent:
    """Common machinery of the LLM parents; subclasses implement :meth:`_request`."""

    provider: str = ""
    key_variable: str = ""
    url_variable: str = ""
    default_url: str = ""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        cache_dir: str | os.PathLike | None = None,
        mode: str | None = None,
        policy: str | None = None,
        on_error: str | None = None,
        concurrency: int | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        max_response_bytes: int | None = None,
        max_retry_wait: float | None = None,
        max_retries: int | None = None,
        invalid_retries: int | None = None,
        roles: Sequence[str] | str | None = None,
        temperature: float = 0.0,
        max_tokens: int = 512,
        client: Any = None,
    ):
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"model must be a non-empty string, got {model!r}")
        self.model = model
        self.base_url = base_url
        self.cache_dir = os.fspath(
            _env("WMIL_LLM_CACHE_DIR", "~/.cache/wmil/llm") if cache_dir is None else cache_dir
        )
        self.mode = _choice(
            "mode", _env("WMIL_LLM_MODE", "record") if mode is None else mode, MODES
        )
        self.policy = _choice(
            "policy", _env("WMIL_LLM_POLICY", "strict") if policy is None else policy, POLICIES
        )
        self.on_error = _choice(
            "on_error",
            _env("WMIL_LLM_ON_ERROR", "fallback") if on_error is None else on_error,
            ON_ERROR,
        )
        self.concurrency = _number(
            "concurrency",
            _env("WMIL_LLM_CONCURRENCY", 8) if concurrency is None else concurrency,
            int,
            1,
        )
        self.timeout = _number(
            "timeout",
            _env("WMIL_LLM_TIMEOUT", 30.0) if timeout is None else timeout,
            float,
            0.0,
            strict_low=True,
        )
        self.deadline = _number(
            "deadline",
            _env("WMIL_LLM_DEADLINE", 120.0) if deadline is None else deadline,
            float,
            0.0,
            strict_low=True,
        )
        self.max_response_bytes = _number(
            "max_response_bytes",
            _env("WMIL_LLM_MAX_RESPONSE_BYTES", 1_000_000)
            if max_response_bytes is None
            else max_response_bytes,
            int,
            1024,
        )
        self.max_retry_wait = _number(
            "max_retry_wait",
            _env("WMIL_LLM_MAX_RETRY_WAIT", 10.0) if max_retry_wait is None else max_retry_wait,
            float,
            0.0,
        )
        self.max_retries = _number(
            "max_retries",
            _env("WMIL_LLM_MAX_RETRIES", 2) if max_retries is None else max_retries,
            int,
            0,
        )
        self.invalid_retries = _number(
            "invalid_retries",
            _env("WMIL_LLM_INVALID_RETRIES", 1) if invalid_retries is None else invalid_retries,
            int,
            0,
        )
        if roles is None:
            roles = _env("WMIL_LLM_ROLES", ",".join(ROLES))
        if isinstance(roles, str):
            roles = [r.strip() for r in roles.split(",") if r.strip()]
        for role in roles:
            _choice("role", role, ROLES)
        self.roles = tuple(roles)
        self.temperature = _number("temperature", temperature, float, 0.0)
        self.max_tokens = _number("max_tokens", max_tokens, int, 1)
        self.cache = DiskCache(os.path.join(self.cache_dir, self.server_folder()))
        if self.mode == "record":  # before any paid answer is fetched
            check_output_dir(self.cache.root, "LLM cache directory (cache_dir, WMIL_LLM_CACHE_DIR)")
        self._client = client
        self._setup_runtime()

    # --- plumbing: lock, thread pool, pickling -------------------------------------------
    def _setup_runtime(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._stats = {
            name: 0.0
            for name in (
                "asked",
                "calls",
                "cache_hits",
                "fallbacks",
                "errors",
                "invalid",
                "refusals",
                "checked",
                "disagreements",
                "latency_total",
            )
        }
        self._cache_warned = False

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in ("_lock", "_pool", "_client", "_stats"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._client = None
        self._setup_runtime()

    def close(self) -> None:
        """Stop the worker threads (they also stop with the process)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model={self.model!r}, mode={self.mode!r}, "
            f"policy={self.policy!r}, roles={self.roles!r})"
        )

    def _count(self, **increments: float) -> None:
        with self._lock:
            for name, value in increments.items():
                self._stats[name] += value

    def stats(self) -> dict[str, float]:
        """Counters since construction: asked (answers wanted), calls (HTTP requests that
        returned or failed),
        cache_hits, fallbacks (rule used because the LLM gave no usable answer), errors
        (transport faults after retries), invalid and refusals (unusable answers), checked and
        disagreements (answers compared with the rules), disagreement_rate, mean_latency_s."""
        with self._lock:
            out = {k: float(v) for k, v in self._stats.items() if k != "latency_total"}
            calls = self._stats["calls"]
            out["mean_latency_s"] = self._stats["latency_total"] / calls if calls else 0.0
        out["disagreement_rate"] = out["disagreements"] / out["checked"] if out["checked"] else 0.0
        out["fallback_rate"] = out["fallbacks"] / out["asked"] if out["asked"] else 0.0
        return out

    def server(self) -> str:
        """The server's identity for the cache key: its URL's scheme, host, port and path, never
        a user, password or query (where a key could hide)."""
        url = self.base_url or os.environ.get(self.url_variable) or self.default_url
        parts = urllib.parse.urlsplit(str(url))
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path.rstrip('/')}"

    def server_folder(self) -> str:
        """The cache folder of this server's answers (see the module docstring)."""
        return "server-" + hashlib.sha256(self.server().encode("utf-8")).hexdigest()[:16]

    def _map(self, fn: Callable[[int], Any], n: int) -> list[Any]:
        """``fn(i)`` for ``i < n``, at most ``concurrency`` at a time, results in order."""
        if n == 1 or self.concurrency == 1:
            return [fn(i) for i in range(n)]
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.concurrency, thread_name_prefix="wmil-llm"
                )
            pool = self._pool
        return list(pool.map(fn, range(n)))

    # --- one question to the LLM ---------------------------------------------------------
    def _sampling(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "max_tokens": self.max_tokens}

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def _make_client(self) -> Any:
        raise NotImplementedError

    def _request(self, client: Any, name: str, system: str, user: str, schema: dict) -> Any:
        """Send one request; return the parsed answer or raise InvalidAnswer / Refusal."""
        raise NotImplementedError

    def _transient(self, error: Exception) -> bool | None:
        """True: a transient fault (already retried by the SDK); False: a configuration error
        reported by the server; None: not an SDK error."""
        raise NotImplementedError

    def ask(
        self,
        name: str,
        system: str,
        user: str,
        schema: dict[str, Any],
        check: Callable[[Any], str | None] | None = None,
    ) -> Any | None:
        """A schema-valid answer (from the cache or the API), or None: use the rule instead.

        ``check`` adds a semantic check (returns a problem or None). Raises CacheMiss in replay
        mode on a miss, ParentError on configuration errors or when ``on_error='raise'``.
        """
        self._count(asked=1)
        request = {
            "provider": self.provider,
            "model": self.model,
            "prompt_version": prompts.PROMPT_VERSION,
            "name": name,
            "system": system,
            "user": user,
            "schema": schema,
            "sampling": self._sampling(),
        }
        key = cache_key(request)

        def problem_of(answer: Any) -> str | None:
            return schema_problem(answer, schema) or (check(answer) if check else None)

        if self.mode != "live":
            try:
                cached = self.cache.get(key)
            except CorruptCacheEntry as error:
                if self.mode == "replay":
                    raise CacheMiss(
                        f"replay mode: {error}; delete it and record it again with "
                        "mode='record' (WMIL_LLM_MODE=record)"
                    ) from None
                cached = None  # record mode: ask again, and overwrite the file
            if cached is not None and problem_of(cached) is None:
                self._count(cache_hits=1)
                return cached
            if self.mode == "replay":
                raise CacheMiss(
                    f"replay mode: no cached {name!r} answer of {self.provider}:{self.model} "
                    f"(key {key}) in {str(self.cache.root)!r}; record it first with "
                    "mode='record' (WMIL_LLM_MODE=record), or check that the server "
                    f"({self.server()}), model, prompt version, task settings and sampling "
                    "match the recording"
                )
        client = self._get_client()
        with bounded_http.budget(self.deadline, self.max_response_bytes) as limits:
            answer, error = self._ask_server(client, name, system, user, schema, problem_of, limits)
        if error is not None:
            return self._give_up(name, error, limits.problem)
        if self.mode == "record":
            self._store(key, request, answer)
        return answer

    def _store(self, key: str, request: dict[str, Any], answer: Any) -> None:
        """Cache an answer; a failed write (disk full, read-only) warns once and goes on."""
        try:
            self.cache.put(key, request, answer)
        except OSError as error:
            if not self._cache_warned:
                self._cache_warned = True
                print(
                    f"warning: cannot write the LLM cache under {str(self.cache.root)!r} "
                    f"({error.strerror or error}); answers are used but not cached",
                    file=sys.stderr,
                    flush=True,
                )

    def _ask_server(self, client, name, system, user, schema, problem_of, limits):
        """(answer, None), or (None, the last error) when no usable answer came back."""
        last: Exception | None = None
        for attempt in range(1 + self.invalid_retries):
            if attempt and limits.left() <= 0:
                break  # the deadline also bounds re-asks
            start = time.perf_counter()
            try:
                answer = self._request(client, name, system, user, schema)
                problem = problem_of(answer)
                if problem:
                    raise InvalidAnswer(f"answer fails the schema: {problem}")
            except Refusal as error:
                self._count(calls=1, refusals=1, latency_total=time.perf_counter() - start)
                last = error
                continue
            except (InvalidAnswer, json.JSONDecodeError, UnicodeDecodeError) as error:
                self._count(calls=1, invalid=1, latency_total=time.perf_counter() - start)
                if isinstance(error, UnicodeDecodeError):
                    error = InvalidAnswer(f"the reply is not UTF-8 text (byte {error.start})")
                last = error
                continue
            except Exception as error:
                transient = self._transient(error)
                if transient is None:
                    raise
                self._count(calls=1, latency_total=time.perf_counter() - start)
                if not transient:
                    status = getattr(error, "status_code", "?")
                    raise ParentError(
                        f"{self.provider}:{self.model}: the server refused the request with "
                        f"status {status} ({type(error).__name__}); check the model name, the "
                        f"base URL and {self.key_variable}"
                    ) from None
                self._count(errors=1)
                return None, error
            self._count(calls=1, latency_total=time.perf_counter() - start)
            return answer, None
        return None, last

    def _give_up(self, name: str, error: Exception | None, limit: str | None = None) -> None:
        what = f"{type(error).__name__}: {error}" if error is not None else "unknown"
        message = f"{self.provider}:{self.model} at {self.server()}: no usable {name!r} answer: "
        message += what
        if limit:
            message += f" ({limit})"
        if self.on_error == "raise":
            raise ParentError(message + " (on_error='raise'; use 'fallback' to use the rule)")
        self._count(fallbacks=1)
        return None

    # --- the Parent protocol -------------------------------------------------------------
    def generate(self, task: Task, rng: np.random.Generator, n: int, level: int) -> StateBatch:
        """``n`` instances from the LLM (one call each, concurrently); each is checked against
        the level's schema and rules, and an unusable one is replaced by the rule's draw."""
        level = task.check_level(level)
        fields = task.generate(rng, n, level)  # the fallback draw; always taken, for determinism
        if "generate" not in self.roles:
            return StateBatch.new(task, fields)
        seeds = rng.integers(0, 2**31 - 1, size=n)
        schema = instance_schema(task, level)
        names = list(fields)

        def one(i: int) -> tuple[dict[str, int], int] | None:
            system, user = prompts.instance_prompt(task, level, int(seeds[i]))
            answer = self.ask(
                "instance",
                system,
                user,
                schema,
                check=lambda a: instance_problem(task, level, {k: a[k] for k in names}),
            )
            return None if answer is None else ({k: answer[k] for k in names}, answer["answer"])

        results = self._map(one, n)
        fields = {k: np.array(v, dtype=np.int64, copy=True) for k, v in fields.items()}
        llm_answer = np.full(n, -1, dtype=np.int64)
        for i, result in enumerate(results):
            if result is not None:
                for k in names:
                    fields[k][i] = result[0][k]
                llm_answer[i] = result[1]
        batch = StateBatch.new(task, fields)
        used = llm_answer >= 0
        self._judge(batch.answer[used], llm_answer[used])
        if self.policy != "strict":
            batch = dataclasses.replace(batch, answer=np.where(used, llm_answer, batch.answer))
        return batch

    def _judge(self, rule: np.ndarray, llm: np.ndarray) -> None:
        if self.policy != "off" and len(rule):
            self._count(checked=len(rule), disagreements=int((rule != llm).sum()))

    def reward(self, states: StateBatch, actions: np.ndarray) -> np.ndarray:
        """1.0 / 0.0 from the LLM's ``{"correct": bool}``, checked against the rule (a
        question: the action is the answer; a world: the action reaches the target now)."""
        actions = np.asarray(actions, dtype=np.int64)
        # the task's rule on the instance (not states.answer, which is the LLM's if advisory)
        rule = states.task.reward(states.fields, actions)
        if "reward" not in self.roles:
            return rule
        schema = reward_schema(states.task)

        def one(i: int) -> float | None:
            system, user = prompts.reward_prompt(states[i], int(actions[i]))
            answer = self.ask("reward", system, user, schema)
            return None if answer is None else float(answer["correct"])

        results = self._map(one, len(states))
        used = np.array([r is not None for r in results], dtype=bool)
        llm = np.array([rule[i] if r is None else r for i, r in enumerate(results)])
        self._judge(rule[used], llm[used])
        return rule if self.policy == "strict" else llm

    def transition(
        self, states: StateBatch, actions: np.ndarray, rewards: np.ndarray
    ) -> StateBatch:
        """The next state from the LLM, checked against the rule's transition: the feedback
        (a question), and the next object too (a world). ``strict`` uses the rule's next state
        and counts each state the LLM got wrong; ``advisory`` uses the LLM's."""
        actions = np.asarray(actions, dtype=np.int64)
        rewards = np.asarray(rewards, dtype=np.float64)
        rule = states.after(actions, rewards > SUCCESS_THRESHOLD)
        if "transition" not in self.roles:
            return rule
        task = states.task
        schema = transition_schema(task)
        feedback_tokens = {"correct": vocab.CORRECT, "wrong": vocab.WRONG}
        if task.has_dynamics:
            feedback_tokens["held"] = task.held

        def one(i: int) -> dict[str, Any] | None:
            system, user = prompts.transition_prompt(states[i], int(actions[i]), rewards[i])
            action = int(actions[i])
            return self.ask(
                "transition",
                system,
                user,
                schema,
                check=lambda a: (
                    None
                    if a["last_action"] == action
                    else f"last_action={a['last_action']} but the agent's action was {action}"
                ),
            )

        answers = self._map(one, len(states))
        used = np.array([a is not None for a in answers], dtype=bool)
        # the LLM's next state, starting from the rule's (kept where the LLM gave no answer)
        feedback = rule.feedback.copy()
        fields = {name: values.copy() for name, values in rule.fields.items()}
        objects = task.object_fields if task.has_dynamics else ()
        for i, answer in enumerate(answers):
            if answer is not None:
                feedback[i] = feedback_tokens[answer["feedback"]]
                for name in objects:
                    fields[name][i] = answer[name]
        wrong = feedback != rule.feedback
        for name in objects:
            wrong |= fields[name] != rule.fields[name]
        if self.policy != "off" and used.any():
            self._count(checked=int(used.sum()), disagreements=int(wrong[used].sum()))
        if self.policy == "strict":
            return rule
        if not task.has_dynamics:
            return dataclasses.replace(rule, feedback=feedback)
        return StateBatch(
            task, fields, task.question(fields), task.answer(fields), actions, feedback
        )


class OpenAIParent(LLMParent):
    """Chat Completions through the official ``openai`` SDK, structured by json_schema.

    ``base_url`` includes ``/v1`` (``http://localhost:8000/v1`` for vLLM,
    ``http://localhost:11434/v1`` for Ollama); default ``OPENAI_BASE_URL`` or OpenAI's. The
    key is ``OPENAI_API_KEY`` (local servers accept any value, e.g. ``none``).
    """

    provider = "openai"
    key_variable = "OPENAI_API_KEY"
    url_variable = "OPENAI_BASE_URL"
    default_url = "https://api.openai.com/v1"

    def _make_client(self) -> Any:
        try:
            import openai
        except ImportError as error:
            raise ImportError(
                "OpenAIParent needs the openai SDK: pip install 'wmil[llm]'"
            ) from error
        if not os.environ.get("OPENAI_API_KEY"):
            raise ParentError(
                "OPENAI_API_KEY is not set; set it in the environment (a local server such as "
                "vLLM or Ollama accepts any value, e.g. OPENAI_API_KEY=none), or use "
                "mode='replay' with a recorded cache"
            )
        return bounded_http.sdk_client(
            openai.OpenAI,
            self.max_retry_wait,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )

    def _request(self, client: Any, name: str, system: str, user: str, schema: dict) -> Any:
        response = client.chat.completions.create(
            model=self.model,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": name, "schema": schema, "strict": True},
            },
            temperature=self.temperature,
            max_tokens=self.max_tokens,
        )
        choices = getattr(response, "choices", None)
        if not choices:
            raise InvalidAnswer("the reply has no choices (wrong shape)")
        choice = choices[0]
        message = getattr(choice, "message", None)
        if message is None:
            raise InvalidAnswer("the reply's choice has no message (wrong shape)")
        if getattr(message, "refusal", None) or getattr(choice, "finish_reason", None) == (
            "content_filter"
        ):
            raise Refusal(f"the model refused: {getattr(message, 'refusal', None)!r}")
        content = getattr(message, "content", None)
        if not isinstance(content, str):
            raise InvalidAnswer(f"the message content is {content!r}, not a JSON string")
        try:
            return json.loads(content)
        except json.JSONDecodeError:
            raise InvalidAnswer(f"the message content is not JSON: {content[:80]!r}") from None

    def _transient(self, error: Exception) -> bool | None:
        import openai

        if isinstance(error, openai.APIConnectionError):  # includes APITimeoutError
            return True
        if isinstance(error, openai.APIStatusError):
            code = error.status_code
            return code in (408, 409, 429) or code >= 500
        return None


class AnthropicParent(LLMParent):
    """Anthropic Messages through the official ``anthropic`` SDK, structured by a forced tool.

    ``base_url`` has no ``/v1``; default ``ANTHROPIC_BASE_URL`` or Anthropic's. The key is
    ``ANTHROPIC_API_KEY``. anthropic 2.x has no ``temperature`` keyword: it is sent through
    ``extra_body``.
    """

    provider = "anthropic"
    key_variable = "ANTHROPIC_API_KEY"
    url_variable = "ANTHROPIC_BASE_URL"
    default_url = "https://api.anthropic.com"

    def _make_client(self) -> Any:
        try:
            import anthropic
        except ImportError as error:
            raise ImportError(
                "AnthropicParent needs the anthropic SDK: pip install 'wmil[llm]'"
            ) from error
        if not (os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")):
            raise ParentError(
                "ANTHROPIC_API_KEY is not set; set it in the environment, or use mode='replay' "
                "with a recorded cache"
            )
        return bounded_http.sdk_client(
            anthropic.Anthropic,
            self.max_retry_wait,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )

    def _request(self, client: Any, name: str, system: str, user: str, schema: dict) -> Any:
        response = client.messages.create(
            model=self.model,
            max_tokens=self.max_tokens,
            system=system,
            messages=[{"role": "user", "content": user}],
            tools=[{"name": name, "description": f"Report the {name}.", "input_schema": schema}],
            tool_choice={"type": "tool", "name": name},
            extra_body={"temperature": self.temperature},
        )
        if getattr(response, "stop_reason", None) == "refusal":
            raise Refusal("the model refused (stop_reason='refusal')")
        for block in getattr(response, "content", None) or []:
            if getattr(block, "type", None) == "tool_use" and getattr(block, "name", None) == name:
                answer = getattr(block, "input", None)
                if not isinstance(answer, dict):
                    raise InvalidAnswer(f"the tool input is {answer!r}, not an object")
                return answer
        raise InvalidAnswer(f"the reply has no {name!r} tool_use block (wrong shape)")

    def _transient(self, error: Exception) -> bool | None:
        import anthropic

        if isinstance(error, anthropic.APIConnectionError):
            return True
        if isinstance(error, anthropic.APIStatusError):
            code = error.status_code
            return code in (408, 409, 429) or code >= 500
        return None
