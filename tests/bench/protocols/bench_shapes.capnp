# The benchmark's two message shapes in Cap'n Proto, field for field as block.exo's submit
# (small) and write (4 KiB) requests.
@0xd0a4f1c2b3e59a71;

struct Submit {
  tag @0 :UInt64;
  op @1 :UInt8;
  lba @2 :UInt64;
  count @3 :UInt32;
  bufferOffset @4 :UInt64;
}

struct Write {
  lba @0 :UInt64;
  data @1 :Data;
}
