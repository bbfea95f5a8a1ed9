"""Talend Cloud: the wire format (:mod:`promoter.talend.models`) and the client that speaks it."""
