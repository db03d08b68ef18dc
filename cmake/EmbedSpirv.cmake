# cmake -DIN=x.spv -DOUT=x.cpp -DNAME=variant -P EmbedSpirv.cmake
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR rem "${n} % 8")
if(NOT rem EQUAL 0 OR n EQUAL 0)
  message(FATAL_ERROR "${IN}: not a whole number of 32-bit words")
endif()
# SPIR-V is little-endian words; the hex dump is bytes, so swap each group of four.
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u," words "${hex}")
string(REGEX REPLACE "(([^,]*,){8})" "\\1\n" words "${words}")
math(EXPR count "${n} / 8")
file(WRITE "${OUT}" "// Generated from ${IN}. Do not edit.\n#include <cstddef>\n#include <cstdint>\nnamespace sinkstream::vk::embedded {\nextern const uint32_t spv_${NAME}[] = {\n${words}\n};\nextern const size_t spv_${NAME}_words = ${count};\n}\n")
