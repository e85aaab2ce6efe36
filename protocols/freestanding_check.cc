// Compiles every generated protocol header and the exo/proto runtime for the kernel target.
#include "exo/proto/runtime.h"
#include "exo/protocols/block.h"
#include "exo/protocols/chantest.h"
#include "exo/protocols/pci.h"
#include "exo/protocols/serial.h"

namespace exo::protocols {

// Instantiates the client and message templates that only a caller would otherwise pull in.
exo::Status freestanding_check_calls(exo::proto::Transport& transport) {
  serial::SerialClient serial_client(transport);
  auto written = serial_client.write(exo::proto::BytesView("abc", 3));
  if (!written.ok()) return exo::Error::kMalformed;
  return serial_client.write_async("hello", exo::proto::SendMode::kFail);
}

}  // namespace exo::protocols
