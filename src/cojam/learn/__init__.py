"""Learning from jam sessions: implicit signals in session logs, a simulated musician that
jams through the protocol, offline KL-control of the accompanist from logs, evaluation."""
