#include "webrtc/page_shell.h"

namespace xl::webrtc {

std::string webrtcPage(std::string_view title, std::string_view style, std::string_view body,
                       std::string_view script, std::string_view entry) {
  std::string page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>)html";
  page += title;
  page += R"html(</title>
<style>
body { margin: 0; background: #111; color: #ddd; font: 14px system-ui, sans-serif; }
)html";
  page += style;
  page += "</style>\n</head>\n<body>\n";
  page += body;
  page += R"html(<script>
"use strict";
const show = (text) => { document.getElementById("status").textContent = text; };
)html";
  page += script;
  page += entry;
  page += R"html(().catch((e) => {
  window.xl.errors.push(String(e));
  show("error: " + e.message);
});
</script>
</body>
</html>
)html";
  return page;
}

}  // namespace xl::webrtc
