"""An HTTP server on a background thread that stops quickly (the API server and the metrics endpoint)."""

import threading

# serve_forever checks for shutdown this often: a short interval makes stop() (and each test's teardown) quick.
SHUTDOWN_POLL_SECONDS = 0.05


class BackgroundServer:
    def __init__(self, httpd, thread_name):
        self.httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
                                        name=thread_name, daemon=True)

    @property
    def port(self):
        return self.httpd.server_address[1]

    def start(self):
        self._thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)
