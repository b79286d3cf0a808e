"""Streamlit app to search and explore the graph (the app issue fills this in)."""

import streamlit as st

st.set_page_config(page_title="kgbuild", layout="wide")
st.title("kgbuild")
st.write("Build a graph with `kgbuild extract`; search and exploration arrive with the search issue.")
