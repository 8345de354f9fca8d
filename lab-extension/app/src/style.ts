/** The app's CSS: JupyterLab's light theme, the packages' styles, then the app's own layout. */
import "@jupyterlab/theme-light-extension/style/variables.css";
import "@jupyterlab/theme-light-extension/style/theme.css";
import "@jupyterlab/notebook/style/index.js";
import "@jupyterlab/filebrowser/style/index.js";
import "@jupyterlab/docmanager/style/index.js";
import "./app.css";
