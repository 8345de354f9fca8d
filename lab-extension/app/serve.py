#!/usr/bin/env python3
"""Serve the mmulab notebook app with Debian's Jupyter server (no PyPI, no `jupyterlab` package).

The back end is jupyterlab_server's LabServerApp (python3-jupyterlab-server 2.16) on
jupyter_server 1.23 (python3-jupyter-server). It serves:

- /mmulab[/tree/<path>]   the app page (templates/index.html with JupyterLab's page config,
                          including the federated extensions found in the labextensions path);
- /static/mmulab_lab/     the webpack build of the front end (dist/app/);
- /mmulab/extensions/     the prebuilt extensions, as JupyterLab serves them;
- /api/...                contents, kernels, kernelspecs, sessions from jupyter_server.

Everything Jupyter reads or writes stays in the repository's .jupyter-data/ (kernelspecs,
labextensions, runtime files, config) unless the caller set JUPYTER_* variables itself.

Usage (run with Debian's interpreter, /usr/bin/python3):

    /usr/bin/python3 lab-extension/app/serve.py [--port=8888] [--notebook-dir=notebooks]
                                                [--token=...] [--ip=127.0.0.1]

Prints "mmulab-lab: ready at <url>" once it listens, and opens no browser.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, ".jupyter-data")

# Before anything imports jupyter_core: keep Jupyter's files inside the repository.
os.environ["JUPYTER_PATH"] = os.pathsep.join(
    p for p in [DATA, os.environ.get("JUPYTER_PATH", "")] if p
)
os.environ.setdefault("JUPYTER_RUNTIME_DIR", os.path.join(DATA, "runtime"))
os.environ.setdefault("JUPYTER_CONFIG_DIR", os.path.join(DATA, "config"))
os.environ.setdefault("JUPYTER_DATA_DIR", DATA)

try:
    from jupyter_server.utils import url_path_join as ujoin
    from jupyterlab_server import LabServerApp
    from tornado.ioloop import IOLoop
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

BUILD = os.path.join(ROOT, "lab-extension", "dist", "app")
LABEXTENSIONS = os.path.join(DATA, "labextensions")
NOTEBOOKS = os.path.join(ROOT, "notebooks")


def _jupyter_server_extension_points():
    return [{"module": NAME, "app": MmulabLabApp}]


class MmulabLabApp(LabServerApp):
    name = NAME
    app_name = "mmulab notebook"
    app_version = "0.1.0"
    app_url = "/mmulab"
    default_url = "/mmulab"
    extension_url = "/mmulab"
    load_other_extensions = False
    static_dir = BUILD
    templates_dir = os.path.join(HERE, "templates")
    # Only the project's extensions: a user's other labextensions expect a full JupyterLab.
    labextensions_path = [LABEXTENSIONS]

    def initialize_handlers(self):
        super().initialize_handlers()
        page_config = self.serverapp.web_app.settings.setdefault("page_config_data", {})
        page_config["token"] = self.serverapp.token
        page_config["appName"] = self.app_name
        if not os.path.exists(os.path.join(BUILD, "main.js")):
            self.log.warning("mmulab-lab: %s has no build; run `npm run build`", BUILD)
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


# Defaults that the command line may override (later flags win).
DEFAULT_ARGS = [
    "--ServerApp.ip=127.0.0.1",
    "--ServerApp.open_browser=False",
    # CI and containers run as root; the server binds to 127.0.0.1 unless told otherwise.
    "--ServerApp.allow_root=True",
]


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a.startswith(("--notebook-dir", "--ServerApp.root_dir")) for a in argv):
        os.makedirs(NOTEBOOKS, exist_ok=True)
        argv.insert(0, "--ServerApp.root_dir=" + NOTEBOOKS)
    MmulabLabApp.launch_instance(argv=DEFAULT_ARGS + argv)


if __name__ == "__main__":
    main()
