#!/usr/bin/env python3
"""Serve JupyterLab (the build in lab-app/dist) with Debian's Jupyter server, without PyPI.

Debian 12 has jupyter_server 1.23 (python3-jupyter-server) and jupyterlab_server 2.16
(python3-jupyterlab-server) but no `jupyterlab` package. The front end only needs what
jupyterlab_server's LabServerApp serves, set up here the way JupyterLab's LabApp sets it up for an
application directory:

- /lab[/tree/<path>], /lab/workspaces/...  the page (dist/static/index.html with the page config,
                                           listing the prebuilt extensions found in the
                                           labextensions path);
- /static/mmulab_lab/                      the webpack build (dist/static);
- /lab/extensions/                         prebuilt (federated) extensions, e.g. mmulab's;
- /lab/api/settings|themes|translations|workspaces|licenses|listings  jupyterlab_server;
- /lab/api/extensions, /lab/api/plugins    here: the read-only extension manager and the plugin
                                           manager's enable/disable (in JupyterLab these come
                                           from the `jupyterlab` package);
- /api/...                                 contents, kernels, sessions, terminals: jupyter_server.

Kernels do not pile up: the kernel manager shuts down kernels idle for 30 minutes with no
browser connected (--MappingKernelManager.cull_idle_timeout=SECONDS, 0 turns culling off).

Everything Jupyter reads or writes stays in the repository's .jupyter-data/ (or in
$MMULAB_JUPYTER_DATA): kernelspecs, labextensions, runtime files, config, user settings and
workspaces, unless the caller set JUPYTER_* variables itself.

Usage (Debian's interpreter, /usr/bin/python3):

    /usr/bin/python3 lab-app/serve.py [--port=8888] [--ServerApp.root_dir=notebooks]
                                      [--ServerApp.token=...] [--ip=127.0.0.1]
                                      [--MmulabLabApp.expose_app_in_browser=True]

Prints "mmulab-lab: ready at <url>" once it listens, and opens no browser.
"""
import getpass
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.abspath(os.environ.get("MMULAB_JUPYTER_DATA") or os.path.join(ROOT, ".jupyter-data"))

# Before anything imports jupyter_core: keep Jupyter's files inside the repository.
os.environ["JUPYTER_PATH"] = os.pathsep.join(
    p for p in [DATA, os.environ.get("JUPYTER_PATH", "")] if p
)
os.environ.setdefault("JUPYTER_RUNTIME_DIR", os.path.join(DATA, "runtime"))
os.environ.setdefault("JUPYTER_CONFIG_DIR", os.path.join(DATA, "config"))
os.environ.setdefault("JUPYTER_DATA_DIR", DATA)

try:
    from jupyter_core.paths import jupyter_config_dir
    from jupyter_server import version_info as server_version_info
    from jupyter_server.base.handlers import APIHandler, JupyterHandler
    from jupyter_server.base.zmqhandlers import WebSocketMixin
    from jupyter_server.utils import url_path_join as ujoin
    from jupyterlab_server import LabServerApp
    from jupyterlab_server.config import (
        get_federated_extensions,
        get_page_config,
        get_static_page_config,
        write_page_config,
    )
    from tornado import web
    from tornado.ioloop import IOLoop
    from tornado.websocket import WebSocketHandler
    from traitlets import Bool
except ImportError as error:  # pragma: no cover - depends on the machine
    sys.stderr.write(
        f"mmulab-lab: {error}\n"
        "Install Debian's Jupyter server: apt-get install --no-install-recommends "
        "python3-jupyter-server python3-jupyterlab-server\n"
        "and run this script with /usr/bin/python3.\n"
    )
    sys.exit(2)

NAME = "mmulab_lab"
# jupyter_server imports an extension app by its `name`; running as a script makes this module
# __main__, so register it under its name too.
sys.modules.setdefault(NAME, sys.modules[__name__])

DIST = os.path.join(HERE, "dist")
STATIC = os.path.join(DIST, "static")
NOTEBOOKS = os.path.join(ROOT, "notebooks")
APP_VERSION = "4.6.4"  # the JupyterLab release whose core extensions lab-app is built from


def _jupyter_server_extension_points():
    return [{"module": NAME, "app": MmulabLabApp}]


def _disabled_rules(app):
    """The page config's disabledExtensions as the front end gets them (app and user levels)."""
    config = get_page_config(app.labextensions_path, app.app_settings_dir, logger=app.log)
    return set(config.get("disabledExtensions", []))


def _set_disabled(name, disabled):
    """`jupyter labextension disable|enable NAME` at the user level: labconfig/page_config.json."""
    config = get_static_page_config(level="user") or {}
    rules = config.get("disabledExtensions", {})
    if isinstance(rules, list):  # older files keep a list
        rules = {rule: True for rule in rules}
    if disabled:
        rules[name] = True
    else:
        rules.pop(name, None)
    config["disabledExtensions"] = rules
    write_page_config(config, level="user")


class ExtensionsHandler(APIHandler):
    """JupyterLab's /lab/api/extensions as its read-only extension manager answers it: the
    installed prebuilt extensions (no search, no install: there is no pip here), with enable and
    disable."""

    def initialize(self, app):
        self.lab = app

    @web.authenticated
    def get(self):
        if self.get_argument("query", None):
            self.finish(json.dumps([]))
            return
        disabled = _disabled_rules(self.lab)
        found = get_federated_extensions(self.lab.labextensions_path)
        listing = []
        for name, data in sorted(found.items()):
            author = data.get("jupyterlab", {}).get("author") or data.get("author")
            listing.append(
                {
                    "name": name,
                    "description": data.get("description", ""),
                    "homepage_url": data.get("url", ""),
                    "pkg_type": "prebuilt",
                    "allowed": True,
                    "approved": False,
                    "companion": None,
                    "core": False,
                    "enabled": name not in disabled,
                    "install": data.get("install", {}),
                    "installed": True,
                    "installed_version": data["version"],
                    "latest_version": data["version"],
                    "status": "ok" if "_build" in data.get("jupyterlab", {}) else "error",
                    "author": author if isinstance(author, str) else None,
                    "license": None,
                    "bug_tracker_url": None,
                    "documentation_url": None,
                    "package_manager_url": None,
                    "repository_url": None,
                }
            )
        self.finish(json.dumps(listing))

    @web.authenticated
    def post(self):
        data = self.get_json_body() or {}
        cmd, name = data.get("cmd"), data.get("extension_name")
        if cmd not in ("enable", "disable") or not name:
            raise web.HTTPError(
                422,
                f"{cmd!r} of {name!r}: this JupyterLab only enables and disables installed "
                "extensions (install prebuilt ones by copying them, see lab-extension/README.md)",
            )
        _set_disabled(name, cmd == "disable")
        self.set_status(201)
        self.finish(json.dumps({"status": "ok", "message": None, "needs_restart": ["frontend"]}))


class PluginsHandler(APIHandler):
    """JupyterLab's /lab/api/plugins: lock rules (none), and enabling or disabling a plugin."""

    @web.authenticated
    def get(self):
        self.finish(json.dumps({"lockRules": [], "allLocked": False}))

    @web.authenticated
    def post(self):
        data = self.get_json_body() or {}
        cmd, name = data.get("cmd"), data.get("plugin_name")
        if cmd not in ("enable", "disable") or not name:
            raise web.HTTPError(422, f"could not process {cmd!r} with plugin name {name!r}")
        _set_disabled(name, cmd == "disable")
        self.set_status(201)
        self.finish(json.dumps({"status": "ok", "message": None, "needs_restart": ["frontend"]}))


class IdentityHandler(APIHandler):
    """jupyter_server 2's /api/me, which 1.23 lacks: the one token-authenticated user, with every
    permission the front end asks about (it shows the initials in the top bar)."""

    @web.authenticated
    def get(self):
        name = getpass.getuser()
        try:
            asked = json.loads(self.get_argument("permissions", "{}"))
        except ValueError:
            raise web.HTTPError(400, "permissions: expected a JSON object") from None
        if not isinstance(asked, dict):
            raise web.HTTPError(400, "permissions: expected a JSON object")
        identity = {
            "username": name,
            "name": name,
            "display_name": name,
            "initials": name[:1].upper(),
            "avatar_url": None,
            "color": None,
        }
        self.finish(json.dumps({"identity": identity, "permissions": asked}))


class EventsSocket(WebSocketMixin, JupyterHandler, WebSocketHandler):
    """jupyter_server 2's /api/events/subscribe. This server has no event bus: the socket opens
    and stays silent, where a 404 would have the front end reconnect every 30 s for ever."""

    def set_default_headers(self):
        pass  # JupyterHandler's headers make no sense on a WebSocket

    async def get(self, *args, **kwargs):
        if self.current_user is None:
            raise web.HTTPError(403)
        await super().get(*args, **kwargs)

    def on_message(self, message):
        pass


class MmulabLabApp(LabServerApp):
    name = NAME
    app_name = "JupyterLab"
    app_version = APP_VERSION
    app_url = "/lab"
    default_url = "/lab"
    load_other_extensions = False
    static_dir = STATIC
    templates_dir = STATIC
    schemas_dir = os.path.join(DIST, "schemas")
    themes_dir = os.path.join(DIST, "themes")
    # page_config.json (plugins disabled here) and overrides.json (default settings).
    app_settings_dir = os.path.join(HERE, "settings")
    # JupyterLab serves its files with caching off unless they carry a version argument.
    cache_files = False

    expose_app_in_browser = Bool(
        False, config=True, help="Expose the app as window.jupyterapp (tests, console)."
    )

    def initialize_settings(self):
        super().initialize_settings()
        lab = os.path.join(jupyter_config_dir(), "lab")
        self.user_settings_dir = self.user_settings_dir or os.path.join(lab, "user-settings")
        self.workspaces_dir = self.workspaces_dir or os.path.join(lab, "workspaces")

    def initialize_handlers(self):
        server = self.serverapp
        page_config = server.web_app.settings.setdefault("page_config_data", {})
        page_config.update(get_static_page_config(logger=self.log, level="all") or {})
        page_config.setdefault("buildAvailable", False)
        page_config.setdefault("buildCheck", False)
        page_config["devMode"] = False
        page_config["token"] = server.token
        page_config["exposeAppInBrowser"] = self.expose_app_in_browser
        page_config["quitButton"] = server.quit_button
        page_config["allow_hidden_files"] = server.contents_manager.allow_hidden
        page_config["notebookVersion"] = json.dumps(list(server_version_info))
        page_config["extensionManager"] = {
            "name": "read-only",
            "can_install": False,
            "install_path": None,
        }
        page_config["news"] = {"disabled": True}
        self.handlers.extend(
            [
                (r"/lab/api/extensions", ExtensionsHandler, {"app": self}),
                (r"/lab/api/plugins", PluginsHandler),
                (r"/api/me", IdentityHandler),
                (r"/api/events/subscribe", EventsSocket),
            ]
        )
        super().initialize_handlers()
        if not os.path.exists(os.path.join(STATIC, "index.html")):
            self.log.warning("mmulab-lab: %s has no build; run `npm run build`", STATIC)
        # Runs once the server's loop starts, when the port is final.
        IOLoop.current().add_callback(self._announce)

    def _announce(self):
        server = self.serverapp
        url = "http://%s:%d%s?token=%s" % (
            server.ip or "127.0.0.1",
            server.port,
            ujoin(server.base_url, self.app_url),
            server.token,
        )
        print(f"mmulab-lab: ready at {url}", flush=True)


# Defaults that the command line may override (a flag given there replaces the default: traitlets
# refuses a scalar option given twice).
DEFAULT_ARGS = [
    "--ServerApp.ip=127.0.0.1",
    "--ServerApp.open_browser=False",
    # CI and containers run as root; the server binds to 127.0.0.1 unless told otherwise.
    "--ServerApp.allow_root=True",
    # Idle kernels (no browser connected, nothing running) end after 30 minutes; checked every
    # 5 minutes. A kernel a notebook tab still talks to is kept.
    "--MappingKernelManager.cull_idle_timeout=1800",
    "--MappingKernelManager.cull_interval=300",
    "--MappingKernelManager.cull_connected=False",
    "--MappingKernelManager.cull_busy=False",
    # New notebooks and consoles get the mmulab kernel (the bootstrap installs its kernelspec).
    "--MappingKernelManager.default_kernel_name=mmulab",
    # Without ipykernel (not needed here) jupyter_client warns "Native kernel (python3) is not
    # available" on every kernelspec listing; kernelspecs installed on disk are still listed.
    "--KernelSpecManager.ensure_native_kernel=False",
]


# jupyter_server's short flags and the options they set.
ALIASES = {
    "--ip": "--ServerApp.ip",
    "--port": "--ServerApp.port",
    "--notebook-dir": "--ServerApp.root_dir",
    "--allow-root": "--ServerApp.allow_root",
    "--no-browser": "--ServerApp.open_browser",
}


def with_defaults(argv):
    """DEFAULT_ARGS (and notebooks/ as the root) for every option `argv` does not set itself."""

    def option(arg):
        name = arg.split("=", 1)[0]
        return ALIASES.get(name, name)

    given = {option(a) for a in argv if a.startswith("--")}
    defaults = [d for d in DEFAULT_ARGS if option(d) not in given]
    if "--ServerApp.root_dir" not in given:
        os.makedirs(NOTEBOOKS, exist_ok=True)
        defaults.append("--ServerApp.root_dir=" + NOTEBOOKS)
    return defaults + argv


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    MmulabLabApp.launch_instance(argv=with_defaults(argv))


if __name__ == "__main__":
    main()
