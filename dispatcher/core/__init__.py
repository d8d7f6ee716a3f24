"""The pure dispatch core: commands in, events out, time passed in, no I/O."""

from .commands import COMMANDS, Command, command_from_dict, command_to_dict
from .dispatcher import Dispatcher
from .errors import ERROR_CODES, DispatchError
from .events import EVENTS, Event, event_from_dict
from .selection import Choice, choose_next
from .state import HallState, Ticket, TicketState, WindowState, WindowStatus

__all__ = [
    "COMMANDS", "ERROR_CODES", "EVENTS", "Choice", "Command", "DispatchError", "Dispatcher",
    "Event", "HallState", "Ticket", "TicketState", "WindowState", "WindowStatus",
    "choose_next", "command_from_dict", "command_to_dict", "event_from_dict",
]
