"""Problems only the user can fix (a file, a name, a profile): the message says what and how.

The command line prints them without a traceback and exits with ``code``; the
wizard shows them beside the field or in a dialog.
"""


class UserProblem(Exception):
    """Something in the user's input or environment that must change before vpc-mirror can go on."""

    #: the command line's exit code: 2 (bad input) unless a subclass says otherwise
    code = 2
