#include "server/proxy_application.h"
#include "server/server.h"

int main(int argc, char** argv) {
  // Before any thread exists (POCO's logging thread, the workers, the admin pool), so that
  // every thread inherits the mask and only the main thread's sigwait() sees the signals.
  proxy::server::blockServerSignals();
  proxy::server::ProxyApplication app;
  return app.run(argc, argv);
}
