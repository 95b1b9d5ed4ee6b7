"""Micro-batching of stage 1 for concurrent requests.

Concurrent ``grade`` calls would otherwise each run the model in their own thread, oversubscribing the cores
and paying the per-call overhead every time. Instead, requests queue up and one worker per event loop takes
everything waiting (up to ``max_batch``) and scores it in a single ``score_many`` call in a worker thread.
Under no load a request is scored alone, immediately; under load the batch grows by itself.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence

from grader.exemplars import Exemplar
from grader.result import Stage1Result
from grader.stage1 import EmbeddingScorer
from rubrics.schema import Rubric

_Item = tuple[Rubric, str, Sequence[Exemplar], asyncio.Future[Stage1Result]]


class Stage1Batcher:
    """Queues stage-1 work and runs it in batches, one model call at a time."""

    def __init__(self, scorer: EmbeddingScorer, max_batch: int = 64) -> None:
        self.scorer = scorer
        self.max_batch = max_batch
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Queue[_Item]] = (
            weakref.WeakKeyDictionary()
        )
        self._workers: set[asyncio.Task[None]] = set()

    def _queue(self) -> asyncio.Queue[_Item]:
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = asyncio.Queue()
            task = loop.create_task(self._work(queue), name="stage1-batcher")
            self._workers.add(task)  # keep a reference so the task is not collected
            task.add_done_callback(self._workers.discard)
        return queue

    async def score(self, rubric: Rubric, answer: str, exemplars: Sequence[Exemplar] = ()) -> Stage1Result:
        """Stage-1 result for one answer, computed together with whatever else is waiting."""
        future: asyncio.Future[Stage1Result] = asyncio.get_running_loop().create_future()
        self._queue().put_nowait((rubric, answer, exemplars, future))
        return await future

    async def _work(self, queue: asyncio.Queue[_Item]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < self.max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            live = [item for item in batch if not item[3].cancelled()]
            if not live:
                continue
            try:
                results = await asyncio.to_thread(
                    self.scorer.score_many, [(r, a) for r, a, _, _ in live], [e for _, _, e, _ in live]
                )
            except Exception as exc:  # hand the failure to every waiting request; they record it as unscored
                for _, _, _, future in live:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, _, _, future), result in zip(live, results, strict=True):
                if not future.done():
                    future.set_result(result)
