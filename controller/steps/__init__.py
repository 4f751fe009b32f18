"""Execution of a plan's steps, one module per route."""

from controller.steps.base import RouteOutcome, StepContext, StepHooks
from controller.steps.executor import Executor

__all__ = ["Executor", "RouteOutcome", "StepContext", "StepHooks"]
