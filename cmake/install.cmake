# cmake/install.cmake - what `cmake --install` and `cpack -G DEB` put in place
# (issue 16): the binaries (their own CMakeLists), man pages written by each
# binary's hidden -help-man, the systemd units with ExecStart following the
# install prefix, the README, and the Debian package settings.

# --- man pages: built with `all`, from the binaries just linked
find_program(SKYDNS_GZIP gzip REQUIRED)
set(SKYDNS_MAN_PAGES "")
foreach(t skydns kube2sky skydns-check skydns-load skydns-api skydnsctl)
  if(TARGET ${t})
    set(page ${CMAKE_BINARY_DIR}/man/${t}.1.gz)
    add_custom_command(OUTPUT ${page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
      COMMAND ${CMAKE_COMMAND} -DBIN=$<TARGET_FILE:${t}> -DOUT=${page} -DGZIP=${SKYDNS_GZIP}
              -P ${CMAKE_SOURCE_DIR}/cmake/manpage.cmake
      DEPENDS ${t} ${CMAKE_SOURCE_DIR}/cmake/manpage.cmake
      COMMENT "Writing man page ${t}.1.gz (${t} -help-man)" VERBATIM)
    list(APPEND SKYDNS_MAN_PAGES ${page})
  endif()
endforeach()
add_custom_target(man ALL DEPENDS ${SKYDNS_MAN_PAGES})
install(FILES ${SKYDNS_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# --- systemd units: deploy/systemd/ says /usr/local/bin (for copying by
# hand); installed, ExecStart names the bindir under the prefix in force at
# install time (cmake --install --prefix, or /usr inside cpack).
if(IS_ABSOLUTE "${CMAKE_INSTALL_BINDIR}")
  set(SKYDNS_UNIT_BINDIR "${CMAKE_INSTALL_BINDIR}")
else()
  set(SKYDNS_UNIT_BINDIR "\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}")
endif()
foreach(u skydns.service skydns.socket skydns-check.service)
  install(CODE "
    file(READ \"${CMAKE_SOURCE_DIR}/deploy/systemd/${u}\" unit)
    string(REPLACE \"/usr/local/bin/\" \"${SKYDNS_UNIT_BINDIR}/\" unit \"\${unit}\")
    file(WRITE \"${CMAKE_BINARY_DIR}/systemd/${u}\" \"\${unit}\")
    file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\" TYPE FILE
         FILES \"${CMAKE_BINARY_DIR}/systemd/${u}\")")
endforeach()

# --- docs
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs
        FILES_MATCHING PATTERN "*.md")

# --- Debian package: `cpack -G DEB` in the build directory writes
# skydns_<version>_<arch>.deb; Depends comes from dpkg-shlibdeps (dpkg-dev).
set(SKYDNS_DEB_MAINTAINER "skydns maintainers <maintainers@users.noreply.h-seed-1eaf517c.example>"
    CACHE STRING "Maintainer field of the Debian package")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME skydns)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${SKYDNS_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "DNS service discovery from etcd (SkyDNS 2.5 in C) and kube2sky")
set(CPACK_PACKAGE_DESCRIPTION "skydns answers DNS queries from SkyDNS records in etcd;
kube2sky publishes Kubernetes Services there; skydns-check marks unhealthy
addresses; skydns-api and skydnsctl edit records over HTTP. systemd units
(socket-activated skydns) and man pages included.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/skynetservices/skydns")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
# daemon-reload after install and removal, stop on removal; nothing enabled
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_SOURCE_DIR}/cmake/debian/postinst
    ${CMAKE_SOURCE_DIR}/cmake/debian/prerm ${CMAKE_SOURCE_DIR}/cmake/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
