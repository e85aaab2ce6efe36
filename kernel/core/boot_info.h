// Access to the parsed multiboot2 information after kernel_main has validated it.
#pragma once

#include "kernel/boot/multiboot2.h"

namespace exo {

// Valid once kernel_main has parsed the boot information; read-only afterwards.
const boot::BootInfo& boot_info();

}  // namespace exo
