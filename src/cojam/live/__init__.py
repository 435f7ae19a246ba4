"""The live jam: the session engine, the websocket server and the page it serves."""
