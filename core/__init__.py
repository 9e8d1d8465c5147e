"""The foundation every layer stands on: errors, atomic writes, small I/O helpers and the model
contract. It imports nothing of the project."""
