"""The operator console: a web application where the people of the process do their step.

It reads the store and acts only by producing contract events (shared/kafka Publisher): what it
does shows up because careflow's services consume what it emits. Its own tables are its users and
its audit log (shared/store/models.py: ConsoleUser, ConsoleAudit).
"""
