"""A local OpenAI- and Anthropic-compatible server for the teachers tests.

It serves ``POST /v1/chat/completions`` and ``POST /v1/messages`` on 127.0.0.1 (port 0) and
answers by computing the task's rules from the ``<state_json>`` / ``<request>`` / ``<proposal>``
blocks of the prompt, so answers are right (or deliberately wrong with the fault ``"lie"``).
For a world, a lie is a wrong next object (the feedback stays right); ``"lie_feedback"`` is the
right next object with wrong feedback; ``"off_level"`` and ``"off_split"`` answer an instance
request with a (start, target) pair outside the requested level or split.
Faults are taken from ``server.script`` (one per request, in order), then ``server.default``.

Misbehaving servers: ``bad_utf8`` (a body that is not UTF-8), ``slow_headers`` / ``slow_body``
(two bytes every ``server.drip`` seconds, for at most 30 s), ``huge_body`` (300 MB of a JSON
string, as fast as the client reads), ``retry_after`` (429 with ``Retry-After: 55``).
"""

from __future__ import annotations

import collections
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from teachers.prompts import task_config
from wmil_envs import make_task, vocab

FAULTS = (
    "ok",
    "lie",
    "lie_feedback",
    "off_level",
    "off_split",
    "429",
    "500",
    "400",
    "401",
    "404",
    "timeout",
    "nonjson",
    "wrong_shape",
    "schema",
    "content_nonjson",
    "refusal",
    "bad_utf8",
    "slow_headers",
    "slow_body",
    "huge_body",
    "retry_after",
)


def _block(tag: str, text: str) -> str:
    match = re.search(f"<{tag}>(.*?)</{tag}>", text, re.S)
    assert match, f"no <{tag}> in prompt"
    return match.group(1)


def _task(config: dict):
    kwargs = {k: v for k, v in config.items() if k != "name"}
    return make_task(config["name"], **kwargs)


def world_answer(name: str, task, state: dict, user: str, fault: str) -> dict:
    """A world's reward or transition answer from the prompt's state, with ``fault``'s lie."""
    one = {k: np.asarray([v]) for k, v in state["fields"].items()}
    action = np.asarray([int(_block("agent_action", user))])
    if name == "reward":
        return {"correct": bool(task.reward(one, action)[0]) != (fault == "lie")}
    success = np.asarray([float(_block("reward", user)) > 0.9])
    after, target = task.ids(task.transition(one, action))
    if fault == "lie":  # the next object's id plus one: always a different object
        after = (after + 1) % task.num_objects
    next_object = task.decode(after)
    word = {task.held: "held", vocab.CORRECT: "correct", vocab.WRONG: "wrong"}
    feedback = word[int(task.feedback(one, action, success)[0])]
    if fault == "lie_feedback":
        feedback = "wrong" if feedback != "wrong" else "correct"
    return {
        "last_action": int(action[0]),
        **{k: int(v[0]) for k, v in next_object.items()},
        "feedback": feedback,
    }


def world_instance_outside(task, level: int, seed: int, fault: str) -> dict:
    """A (start, target) pair outside the requested level (``off_level``: another level's
    pair, same split) or split (``off_split``: the other split's pair, same level)."""
    if fault == "off_split":
        other = "test" if task.split == "train" else "train"
        pairs = _task({**task_config(task), "split": other}).pairs(level)
    else:
        inside = {tuple(p) for p in task.pairs(level).tolist()}
        pairs = np.array([p for p in task.pairs(task.max_level).tolist() if tuple(p) not in inside])
    start, target = pairs[np.random.default_rng(seed).integers(len(pairs))]
    fields = task.instance(np.asarray([start]), np.asarray([target]))
    answer = int(task.answer(fields)[0])
    return {**{k: int(v[0]) for k, v in fields.items()}, "answer": answer}


def rule_answer(name: str, user: str, fault: str = "ok") -> dict:
    """The answer the rules give to a prompt of kind ``name`` (or a wrong one, by ``fault``)."""
    lie = fault == "lie"
    if name in ("reward", "transition"):
        state = json.loads(_block("state_json", user))
        task = _task(state["task"])
        if task.has_dynamics:
            return world_answer(name, task, state, user, fault)
        action = int(_block("agent_action", user))
        if name == "reward":
            one = {k: np.asarray([v]) for k, v in state["fields"].items()}
            correct = action == int(task.answer(one)[0])
            return {"correct": correct != lie}
        correct = float(_block("reward", user)) > 0.9
        return {"last_action": action, "feedback": "correct" if correct != lie else "wrong"}
    request = json.loads(_block("request", user))
    task = _task(request["task"])
    if name == "instance" and fault in ("off_level", "off_split") and task.has_dynamics:
        return world_instance_outside(task, request["level"], request["seed"], fault)
    if name == "instance":
        fields = task.generate(np.random.default_rng(request["seed"]), 1, request["level"])
        answer = int(task.answer(fields)[0])
        if lie:
            answer = (answer + 1) % task.num_actions
        return {**{k: int(v[0]) for k, v in fields.items()}, "answer": answer}
    if name == "critique":
        proposal = json.loads(_block("proposal", user))
        one = {k: np.asarray([v]) for k, v in proposal.items() if k != "answer"}
        return {"valid": not lie, "answer": int(task.answer(one)[0]), "reason": "checked"}
    raise AssertionError(f"unknown request name {name!r}")


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # concurrent clients must not see refused connections
    daemon_threads = True


class FakeLLMServer:
    def __init__(self, delay: float = 0.0):
        self.script: collections.deque[str] = collections.deque()
        self.default = "ok"
        self.delay = delay
        self.hang = 1.0  # seconds a "timeout" fault waits before answering
        self.drip = 0.1  # seconds between two bytes of a slow fault
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.inflight = 0
        self.max_inflight = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                server._handle(self)

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeLLMServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self) -> None:
        with self.lock:
            self.script.clear()
            self.default = "ok"
            self.delay = 0.0
            self.requests.clear()
            self.max_inflight = 0

    def _next_fault(self) -> str:
        with self.lock:
            return self.script.popleft() if self.script else self.default

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length", 0))
        body = json.loads(handler.rfile.read(length))
        fault = self._next_fault()
        with self.lock:
            self.requests.append({"path": handler.path, "body": body, "fault": fault})
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            if self.delay:
                time.sleep(self.delay)
            if fault in ("slow_headers", "slow_body", "huge_body"):
                return self._misbehave(handler, fault)
            status, headers, payload = self._respond(handler.path, body, fault)
            handler.send_response(status)
            for key, value in headers.items():
                handler.send_header(key, value)
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            if fault == "bad_utf8":
                data = data.replace(b'"', b'"\xff\xfe', 1)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)
        finally:
            with self.lock:
                self.inflight -= 1

    def _misbehave(self, handler: BaseHTTPRequestHandler, fault: str) -> None:
        """Write a reply too slowly, or too much of one, until the client gives up."""
        out = handler.wfile
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        if fault == "huge_body":
            size = 300 * 2**20
            out.write(head + f"Content-Length: {size + 2}\r\n\r\n".encode() + b'"')
            chunk = b"x" * 2**16
            for _ in range(size // len(chunk)):
                out.write(chunk)
            out.write(b'"')
            return
        body = b'{"choices": []}' * 100
        data = (head if fault == "slow_headers" else b"") + b"X-Padding: " + b"p" * 400
        if fault == "slow_body":
            out.write(head + f"Content-Length: {len(body)}\r\n\r\n".encode())
            out.flush()
            data = body
        end = time.monotonic() + 30
        for i in range(0, len(data), 2):
            if time.monotonic() > end:
                return
            out.write(data[i : i + 2])
            out.flush()
            time.sleep(self.drip)

    def _respond(self, path: str, body: dict, fault: str):
        anthropic = path.endswith("/messages")
        if fault in ("429", "500", "400", "401", "404"):
            error = {"type": "error", "error": {"type": "fault", "message": f"fault {fault}"}}
            return int(fault), {"retry-after-ms": "1"}, error
        if fault == "retry_after":
            error = {"type": "error", "error": {"type": "fault", "message": "slow down"}}
            return 429, {"retry-after": "55"}, error
        if fault == "timeout":
            time.sleep(self.hang)
        if fault == "nonjson":
            return 200, {}, "<html>this is not JSON</html>"
        if fault == "wrong_shape":
            return 200, {}, {"unexpected": True}
        if anthropic:
            name = body["tools"][0]["name"]
            user = body["messages"][0]["content"]
        else:
            name = body["response_format"]["json_schema"]["name"]
            user = body["messages"][-1]["content"]
        answer = rule_answer(name, user, fault)
        if fault == "schema":
            answer = {"bogus": 1}
        if anthropic:
            if fault == "refusal":
                content, stop = [], "refusal"
            elif fault == "content_nonjson":
                content, stop = [{"type": "text", "text": "Sure, yes!"}], "end_turn"
            else:
                content = [{"type": "tool_use", "id": "toolu_1", "name": name, "input": answer}]
                stop = "tool_use"
            return (
                200,
                {},
                {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": body["model"],
                    "content": content,
                    "stop_reason": stop,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 1, "output_tokens": 1},
                },
            )
        message = {"role": "assistant", "content": json.dumps(answer), "refusal": None}
        if fault == "refusal":
            message = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
        elif fault == "content_nonjson":
            message["content"] = "Sure, yes!"
        return (
            200,
            {},
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            },
        )


@pytest.fixture(scope="session")
def llm_server_session():
    server = FakeLLMServer().start()
    yield server
    server.stop()


@pytest.fixture
def server(llm_server_session):
    """The shared fake server, reset (no faults, no delay, no log) for each test."""
    llm_server_session.reset()
    yield llm_server_session
    llm_server_session.reset()


def parent_builder(server, provider: str, cache_dir, **defaults):
    """``build(**settings)``: an OpenAI or Anthropic parent of the real SDK, pointed at
    ``server``, recording into ``cache_dir``; ``defaults`` and then ``settings`` override the
    usual test settings (no SDK retries, a 5 s timeout)."""
    from teachers import AnthropicParent, OpenAIParent

    parent_class = {"openai": OpenAIParent, "anthropic": AnthropicParent}[provider]
    url = server.openai_url if provider == "openai" else server.anthropic_url

    def build(**settings):
        base = {"base_url": url, "cache_dir": cache_dir, "max_retries": 0, "timeout": 5.0,
                "mode": "record"}  # fmt: skip
        return parent_class(model="fake-model", **{**base, **defaults, **settings})

    return build
