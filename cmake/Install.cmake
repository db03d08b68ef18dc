# cmake --install BUILD --prefix P: the public headers, the library, the CMake
# package (find_package(sinkstream CONFIG) -> sinkstream::sinkstream) and
# P/lib/pkgconfig/sinkstream.pc. Internal headers (src/) are not installed.
include(CMakePackageConfigHelpers)

get_target_property(sinkstream_type sinkstream TYPE)
if(sinkstream_type STREQUAL "SHARED_LIBRARY")
  set(SINKSTREAM_SHARED ON)
  set(SINKSTREAM_PC_REQUIRES_PRIVATE "")
  set(SINKSTREAM_PC_LIBS_PRIVATE "")
else()
  set(SINKSTREAM_SHARED OFF)
  set(SINKSTREAM_PC_REQUIRES_PRIVATE "vulkan libpcre2-8")
  set(SINKSTREAM_PC_LIBS_PRIVATE "-ldl")
endif()
if(TARGET PkgConfig::PCRE2)
  set(SINKSTREAM_PCRE2_PKGCONFIG ON)
else()
  set(SINKSTREAM_PCRE2_PKGCONFIG OFF)
endif()

install(TARGETS sinkstream EXPORT sinkstreamTargets
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
file(GLOB sinkstream_public_headers "${PROJECT_SOURCE_DIR}/include/sinkstream/*.hpp"
     "${PROJECT_SOURCE_DIR}/include/sinkstream/*.h")
install(FILES ${sinkstream_public_headers} "${PROJECT_BINARY_DIR}/include/sinkstream/version.hpp"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/sinkstream")

set(sinkstream_cmake_dir "${CMAKE_INSTALL_LIBDIR}/cmake/sinkstream")
install(EXPORT sinkstreamTargets NAMESPACE sinkstream:: DESTINATION "${sinkstream_cmake_dir}")
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/sinkstreamConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/sinkstreamConfig.cmake" INSTALL_DESTINATION "${sinkstream_cmake_dir}")
# 0.x: a minor version may break the API.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/sinkstreamConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}" COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/sinkstreamConfig.cmake" "${PROJECT_BINARY_DIR}/sinkstreamConfigVersion.cmake"
        DESTINATION "${sinkstream_cmake_dir}")

# The prefix is the one given at install time (cmake --install --prefix P).
set(SINKSTREAM_PC_PREFIX "%SINKSTREAM_PREFIX%")
configure_file("${PROJECT_SOURCE_DIR}/cmake/sinkstream.pc.in" "${PROJECT_BINARY_DIR}/sinkstream.pc.in2" @ONLY)
install(CODE "
  file(READ \"${PROJECT_BINARY_DIR}/sinkstream.pc.in2\" pc)
  string(REPLACE \"%SINKSTREAM_PREFIX%\" \"\${CMAKE_INSTALL_PREFIX}\" pc \"\${pc}\")
  file(WRITE \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig/sinkstream.pc\" \"\${pc}\")
  message(STATUS \"Installing: \$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig/sinkstream.pc\")")
