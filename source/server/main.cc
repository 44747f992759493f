#include "server/proxy_application.h"

int main(int argc, char** argv) {
  proxy::server::ProxyApplication app;
  return app.run(argc, argv);
}
