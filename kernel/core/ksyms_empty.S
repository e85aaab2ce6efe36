// An empty .ksyms section for the first link pass (see kernel/meson.build).
    .section .ksyms, "a"
