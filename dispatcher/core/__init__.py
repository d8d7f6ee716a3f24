"""The pure dispatch core: commands in, events out, time passed in, no I/O."""

from .commands import COMMANDS, Command, command_from_dict, command_to_dict
from .dispatcher import Dispatcher
from .errors import ERROR_CODES, DispatchError
from .estimate import queue_status, ticket_status
from .events import EVENTS, Event, event_from_dict
from .policy import POLICIES, hall_for, policy_profiles, suggest_moves
from .selection import Choice, choose_next
from .state import (
    Appointment,
    DeviceStatus,
    HallState,
    Ticket,
    TicketState,
    WindowState,
    WindowStatus,
)

__all__ = [
    "COMMANDS", "ERROR_CODES", "EVENTS", "POLICIES", "Appointment", "Choice", "Command",
    "DeviceStatus", "DispatchError", "Dispatcher", "Event", "HallState", "Ticket",
    "TicketState", "WindowState", "WindowStatus", "choose_next", "command_from_dict",
    "command_to_dict", "event_from_dict", "hall_for", "policy_profiles", "queue_status",
    "suggest_moves", "ticket_status",
]
