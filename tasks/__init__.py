"""Downstream tasks: the task API, one registry (classes, YAML, plugins), built-in tasks.

    from tasks import get_task, list_tasks
    task = get_task("bbc-news")
    task.examples("test")[0], task.metrics, task.baselines(), task.data_hash()

Fine-tuning, zero-shot prompting and predictions live in :mod:`tasks.runner`.
"""

from tasks.base import (
    ClassificationTask,
    DialogueTask,
    Example,
    FinetuneDefaults,
    LMTask,
    MetricSpec,
    QATask,
    SummarizationTask,
    Task,
    TranslationTask,
)
from tasks.registry import get_task, include, list_tasks, register_task

__all__ = [
    "ClassificationTask", "DialogueTask", "Example", "FinetuneDefaults", "LMTask", "MetricSpec",
    "QATask", "SummarizationTask", "Task", "TranslationTask", "get_task", "include",
    "list_tasks", "register_task",
]
