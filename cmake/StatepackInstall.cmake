# SPDX-License-Identifier: Apache-2.0
# `cmake --install`: the runtime library and headers, the statepack CLI (when built), the zstd
# add-on (when built; install component `zstd`), a CMake package (find_package(statepack) gives
# statepack::runtime, statepack::statepack and statepack_add_blob; COMPONENTS zstd adds
# statepack::runtime_zstd) and pkg-config files for other build systems (statepack-runtime.pc,
# statepack-runtime-zstd.pc, statepack-runtime-sign.pc; statepack::runtime_sign, for signed blobs,
# is always built), the man page statepack(1), and the license, changelog and examples under
# share/doc/statepack. cmake/StatepackPackage.cmake makes a Debian package of all of it.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(STATEPACK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/statepack)

set_target_properties(statepack_runtime PROPERTIES EXPORT_NAME runtime)
install(TARGETS statepack_runtime EXPORT statepackTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/include/statepack
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET statepack)
  install(TARGETS statepack EXPORT statepackTargets RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# The signed-blob add-on (statepack/statepack_sign.h) and its crypto: no dependency, so always
# built and in the main export set (statepack::runtime_sign).
set_target_properties(statepack_runtime_sign PROPERTIES EXPORT_NAME runtime_sign)
set_target_properties(statepack_sign_crypto PROPERTIES EXPORT_NAME sign_crypto)
install(TARGETS statepack_runtime_sign statepack_sign_crypto EXPORT statepackTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/runtime/sign/include/statepack/statepack_sign.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/statepack)

install(EXPORT statepackTargets NAMESPACE statepack:: DESTINATION ${STATEPACK_CMAKE_DIR})

# The zstd add-on in an export set of its own, so that only a project asking for the component
# needs libzstd (statepackConfig.cmake looks for it then).
if(TARGET statepack_runtime_zstd)
  set_target_properties(statepack_runtime_zstd PROPERTIES EXPORT_NAME runtime_zstd)
  install(TARGETS statepack_runtime_zstd EXPORT statepackZstdTargets COMPONENT zstd
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(FILES ${PROJECT_SOURCE_DIR}/runtime/zstd/include/statepack/statepack_zstd.h
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/statepack COMPONENT zstd)
  install(EXPORT statepackZstdTargets NAMESPACE statepack:: DESTINATION ${STATEPACK_CMAKE_DIR}
    COMPONENT zstd)
endif()
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/statepackConfig.cmake.in
  ${PROJECT_BINARY_DIR}/statepackConfig.cmake INSTALL_DESTINATION ${STATEPACK_CMAKE_DIR})
# The C API's promise (docs/compatibility.md): from 1.0 only a new major version breaks it; in 0.x
# a new minor version may, so find_package(statepack 0.2) accepts 0.2.x only.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(statepack_compatibility SameMinorVersion)
else()
  set(statepack_compatibility SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/statepackConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY ${statepack_compatibility})
install(FILES
  ${PROJECT_BINARY_DIR}/statepackConfig.cmake
  ${PROJECT_BINARY_DIR}/statepackConfigVersion.cmake
  ${CMAKE_CURRENT_LIST_DIR}/StatepackBlob.cmake
  DESTINATION ${STATEPACK_CMAKE_DIR})

# pkg-config: the runtime needs nothing but the C library, even from C (no libstdc++). The
# prefix is found from the .pc file's own place, so `cmake --install --prefix` anywhere works.
file(RELATIVE_PATH STATEPACK_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" STATEPACK_PC_TO_PREFIX "${STATEPACK_PC_TO_PREFIX}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/statepack-runtime.pc.in
  ${PROJECT_BINARY_DIR}/statepack-runtime.pc @ONLY)
configure_file(${CMAKE_CURRENT_LIST_DIR}/statepack-runtime-sign.pc.in
  ${PROJECT_BINARY_DIR}/statepack-runtime-sign.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/statepack-runtime.pc ${PROJECT_BINARY_DIR}/statepack-runtime-sign.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(TARGET statepack_runtime_zstd)
  configure_file(${CMAKE_CURRENT_LIST_DIR}/statepack-runtime-zstd.pc.in
    ${PROJECT_BINARY_DIR}/statepack-runtime-zstd.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/statepack-runtime-zstd.pc
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT zstd)
endif()

# Documentation: license texts, the changelog and the compatibility promise in the doc directory
# (share/doc/statepack), the examples beside them, and the man page generated from the CLI's
# own --help (cmake/StatepackManPage.cmake), so that it always lists the options the CLI has.
install(FILES
  ${PROJECT_SOURCE_DIR}/LICENSE
  ${PROJECT_SOURCE_DIR}/NOTICE
  ${PROJECT_SOURCE_DIR}/CHANGELOG.md
  ${PROJECT_SOURCE_DIR}/cmake/debian/copyright
  ${PROJECT_SOURCE_DIR}/docs/compatibility.md
  ${PROJECT_SOURCE_DIR}/docs/third-party-licenses.md
  ${PROJECT_SOURCE_DIR}/schemas/FORMAT.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/tiny_mlp ${PROJECT_SOURCE_DIR}/examples/linux_mmap
  DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples PATTERN "CMakeLists.txt" EXCLUDE)
install(FILES ${PROJECT_SOURCE_DIR}/examples/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
if(TARGET statepack)
  set(STATEPACK_MAN_PAGE ${PROJECT_BINARY_DIR}/statepack.1)
  add_custom_command(OUTPUT ${STATEPACK_MAN_PAGE}
    COMMAND ${CMAKE_COMMAND} -DSTATEPACK=$<TARGET_FILE:statepack> -DOUTPUT=${STATEPACK_MAN_PAGE}
            -DVERSION=${PROJECT_VERSION} -P ${CMAKE_CURRENT_LIST_DIR}/StatepackManPage.cmake
    DEPENDS statepack ${CMAKE_CURRENT_LIST_DIR}/StatepackManPage.cmake
    COMMENT "Generating the statepack(1) man page from the CLI's help")
  add_custom_target(statepack_man_page ALL DEPENDS ${STATEPACK_MAN_PAGE})
  install(FILES ${STATEPACK_MAN_PAGE} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()
